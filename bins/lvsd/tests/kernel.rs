//! Kernel-lab suite: `lvsd` directing real HTTP traffic through a NAT cluster
//! of namespaces (`cargo xtask kernel-lab -p lvsd`).

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use support::{Cluster, Lvsd, in_netns, wait_for, weights};

const LAB: &str = "needs an IPVS kernel: cargo xtask kernel-lab";

/// A service on the VIP with real servers `reals` and 1 s HTTP checks.
fn config(reals: &[usize], extra_service: &str) -> String {
    let mut text = format!(
        "[[service]]\naddress = \"{}\"\nscheduler = \"rr\"\nforwarding = \"nat\"\n{extra_service}\n\
         [service.check]\ntype = \"http\"\npath = \"/\"\nbody = \"^r[0-9]\"\ninterval = \"1s\"\ntimeout = \"500ms\"\nrise = 2\nfall = 2\n",
        support::VIP
    );
    for i in reals {
        text.push_str(&format!(
            "[[service.real]]\naddress = \"{}\"\nweight = 1\n",
            Cluster::real_addr(*i)
        ));
    }
    text
}

fn expect(reals: &[(usize, u32)]) -> Vec<(std::net::SocketAddr, u32)> {
    let mut v: Vec<_> = reals
        .iter()
        .map(|&(i, w)| (Cluster::real_addr(i), w))
        .collect();
    v.sort();
    v
}

fn tally(answers: &[Result<String, String>]) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for a in answers {
        *m.entry(a.clone().unwrap_or_else(|e| format!("error: {e}")))
            .or_insert(0) += 1;
    }
    m
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn failed_real_server_is_inhibited_and_restored() {
    let _ = LAB;
    let mut cluster = Cluster::nat("fo", 2);
    cluster.start_web(1);
    cluster.start_web(2);
    let path = cluster.write_config("lvsd.toml", &config(&[1, 2], ""));
    let mut ipvs = cluster.ipvs();
    let started = Instant::now();
    let lvsd = Lvsd::start(&cluster, &path);
    // The table matches the file within one interval.
    let matched = wait_for(Duration::from_secs(1), || {
        (weights(&mut ipvs) == expect(&[(1, 1), (2, 1)])).then_some(())
    });
    assert!(
        matched.is_some(),
        "table {:?} after {:?}\n{}",
        weights(&mut ipvs),
        started.elapsed(),
        lvsd.log()
    );
    let answers = cluster.gets(6);
    assert_eq!(
        tally(&answers),
        BTreeMap::from([("r1".to_string(), 3), ("r2".to_string(), 3)]),
        "rr over both"
    );

    // A steady client: one request every 100 ms, each failure timed.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(Mutex::new(Vec::<(Instant, String)>::new()));
    let served = Arc::new(Mutex::new(0usize));
    let client = {
        let (stop, failures, served, ns) = (
            stop.clone(),
            failures.clone(),
            served.clone(),
            cluster.client(),
        );
        std::thread::spawn(move || {
            in_netns(&ns, || {
                while !stop.load(Ordering::Relaxed) {
                    match support::http_get(support::VIP.parse().unwrap(), Duration::from_secs(2)) {
                        Ok(_) => *served.lock().unwrap() += 1,
                        Err(e) => failures.lock().unwrap().push((Instant::now(), e)),
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    cluster.stop_web(1);
    let stopped = Instant::now();
    let down = wait_for(Duration::from_secs(6), || {
        (weights(&mut ipvs) == expect(&[(1, 0), (2, 1)])).then_some(())
    });
    let (_, took) = down
        .unwrap_or_else(|| panic!("r1 not inhibited: {:?}\n{}", weights(&mut ipvs), lvsd.log()));
    let window_end = Instant::now();
    // fall × interval, plus what the check and the batch take under emulation.
    assert!(
        took <= Duration::from_millis(2700),
        "inhibited after {took:?}"
    );
    let answers = cluster.gets(6);
    assert_eq!(
        tally(&answers),
        BTreeMap::from([("r2".to_string(), 6)]),
        "all on r2"
    );

    cluster.start_web(1);
    let back = wait_for(Duration::from_secs(6), || {
        (weights(&mut ipvs) == expect(&[(1, 1), (2, 1)])).then_some(())
    });
    let (_, took) =
        back.unwrap_or_else(|| panic!("r1 not restored: {:?}\n{}", weights(&mut ipvs), lvsd.log()));
    assert!(
        took <= Duration::from_millis(2700),
        "restored after {took:?}"
    );
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    client.join().unwrap();

    // Failures only between the stop and the inhibition.
    let failures = failures.lock().unwrap();
    for (at, error) in failures.iter() {
        assert!(
            *at >= stopped && *at <= window_end + Duration::from_millis(300),
            "a request failed outside the window: {error}"
        );
    }
    assert!(
        *served.lock().unwrap() > 10,
        "the steady client got answers"
    );
    let log = lvsd.log();
    assert!(
        log.contains(&format!(
            "real server {} of TCP {} down after 2 failed checks",
            Cluster::real_addr(1),
            support::VIP
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "real server {} of TCP {} up after 2 successful checks",
            Cluster::real_addr(1),
            support::VIP
        )),
        "{log}"
    );
}
