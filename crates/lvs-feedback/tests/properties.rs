//! Property tests of the protocol and the policy (the list).
use std::time::Duration;

use lvs_feedback::{Admin, Config, Health, Pool, Report};
use proptest::prelude::*;

fn health() -> impl Strategy<Value = Option<Health>> {
    prop_oneof![
        Just(None),
        Just(Some(Health::Up)),
        Just(Some(Health::Down)),
        Just(Some(Health::Fail)),
        Just(Some(Health::Stopped)),
    ]
}

fn admin() -> impl Strategy<Value = Option<Admin>> {
    prop_oneof![
        Just(None),
        Just(Some(Admin::Ready)),
        Just(Some(Admin::Drain)),
        Just(Some(Admin::Maint)),
    ]
}

fn report() -> impl Strategy<Value = Report> {
    (
        health(),
        admin(),
        proptest::option::of(0u32..=1000),
        proptest::option::of(any::<u32>()),
        proptest::option::of("[!-~]([ -~]{0,30}[!-~])?"),
    )
        .prop_map(|(health, admin, percent, maxconn, description)| Report {
            health,
            admin,
            percent,
            maxconn,
            description,
            ignored: Vec::new(),
        })
}

/// HAProxy's reading of a line, restated from its manual: any order, any
/// case, spaces, tabs or commas between words.
fn haproxy_spellings(r: &Report, seps: &[&str], upper: bool) -> String {
    let mut words: Vec<String> = Vec::new();
    if let Some(p) = r.percent {
        words.push(format!("{p}%"));
    }
    if let Some(m) = r.maxconn {
        words.push(format!("MaxConn:{m}"));
    }
    if let Some(a) = r.admin {
        words.push(a.word().to_owned());
    }
    if let Some(h) = r.health {
        words.push(h.word().to_owned());
    }
    let mut line = String::new();
    for (i, w) in words.iter().enumerate() {
        line.push_str(seps[i % seps.len()]);
        line.push_str(&if upper { w.to_uppercase() } else { w.clone() });
    }
    if let Some(d) = &r.description {
        line.push_str(" #\t");
        line.push_str(d);
    }
    line.push_str("\r\n");
    line
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn printed_reports_read_back(r in report()) {
        let line = format!("{r}\n");
        prop_assert_eq!(Report::parse(line.as_bytes()).unwrap(), r);
    }

    #[test]
    fn documented_spellings_read_the_same(r in report(), upper in any::<bool>(),
                                          seps in proptest::sample::subsequence(vec![" ", "\t", ",", " , ", "\t\t"], 1..5)) {
        let line = haproxy_spellings(&r, &seps, upper);
        prop_assert_eq!(Report::parse(line.as_bytes()).unwrap(), r);
    }

    #[test]
    fn any_bytes_are_read_without_panic_and_reprint_stably(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        if let Ok(r) = Report::parse(&bytes) {
            prop_assert!(r.ignored.len() <= lvs_feedback::agent::MAX_IGNORED);
            let again = Report::parse(format!("{r}\n").as_bytes()).unwrap();
            prop_assert_eq!(again, Report { ignored: Vec::new(), ..r });
        }
        let _ = Report::read_from(&bytes[..]);
    }
}

#[derive(Debug, Clone)]
enum Event {
    Report(usize, Report),
    Tick,
    Wait(u64),
}

fn config() -> impl Strategy<Value = Config> {
    (1u32..=100, 1u32..=100, 0u32..=30, 0u64..20, 1u64..60).prop_map(
        |(alpha, step, band, blackout, expiry)| Config {
            alpha: f64::from(alpha) / 100.0,
            max_step_percent: step,
            band_percent: band,
            blackout: Duration::from_secs(blackout),
            expiry: Duration::from_secs(expiry),
        },
    )
}

fn event(n: usize) -> impl Strategy<Value = Event> {
    prop_oneof![
        4 => (0..n, report()).prop_map(|(i, r)| Event::Report(i, r)),
        4 => Just(Event::Tick),
        2 => (1u64..40).prop_map(Event::Wait),
    ]
}

/// The weight configured × p %, rounded, at least 1 (the policy's rule).
fn weight_for(configured: u32, p: f64) -> u32 {
    ((f64::from(configured) * p.clamp(0.0, 100.0) / 100.0).round() as u32)
        .clamp(configured.min(1), configured)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn weights_stay_within_zero_and_configured(
        cfg in config(),
        servers in proptest::collection::vec((0u32..=1000, any::<bool>()), 1..5),
        events in proptest::collection::vec(event(4), 0..200),
    ) {
        let mut pool = Pool::new(cfg).unwrap();
        for &(w, agent) in &servers {
            pool.add(w, agent);
        }
        let mut now = Duration::ZERO;
        for e in events {
            match e {
                Event::Report(i, r) => { pool.report(i % servers.len(), now, &r); }
                Event::Wait(s) => now += Duration::from_secs(s),
                Event::Tick => {
                    for c in pool.tick(now) {
                        prop_assert!(c.from != c.to);
                        prop_assert_eq!(pool.weight(c.server), Some(c.to));
                    }
                    now += Duration::from_secs(2);
                }
            }
            for (i, &(w, _)) in servers.iter().enumerate() {
                prop_assert!(pool.weight(i).unwrap() <= w);
            }
        }
    }

    #[test]
    fn constant_load_converges_within_the_band(
        cfg in config(),
        configured in 1u32..=1000,
        p in 0u32..=100,
    ) {
        let mut pool = Pool::new(cfg.clone()).unwrap();
        let a = pool.add(configured, true);
        let interval = Duration::from_secs(1);
        let ticks = cfg.blackout.as_secs() + 2 + u64::from(100 / cfg.max_step_percent);
        let mut now = Duration::ZERO;
        for _ in 0..=ticks {
            pool.report(a, now, &Report::up(p));
            pool.tick(now);
            now += interval;
        }
        let target = weight_for(configured, f64::from(p));
        let band = configured * cfg.band_percent / 100;
        let w = pool.weight(a).unwrap();
        prop_assert!(w.abs_diff(target) <= band, "weight {w}, target {target}, band {band}");
        // And stays: more of the same changes nothing.
        for _ in 0..20 {
            pool.report(a, now, &Report::up(p));
            prop_assert!(pool.tick(now).is_empty());
            now += interval;
        }
    }

    #[test]
    fn noise_moves_weights_no_more_than_the_band(
        cfg in config(),
        configured in 1u32..=1000,
        p in 0u32..=100,
        noise in 0u32..=15,
        draws in proptest::collection::vec(any::<u32>(), 200),
    ) {
        let mut pool = Pool::new(cfg.clone()).unwrap();
        let a = pool.add(configured, true);
        let lo_p = p.saturating_sub(noise);
        let hi_p = (p + noise).min(100);
        let lo = weight_for(configured, f64::from(lo_p));
        let hi = weight_for(configured, f64::from(hi_p));
        let band = configured * cfg.band_percent / 100;
        let settle = cfg.blackout.as_secs() + 2 + u64::from(100 / cfg.max_step_percent);
        let mut changes_after = 0;
        for (t, d) in draws.iter().enumerate() {
            let now = Duration::from_secs(t as u64);
            pool.report(a, now, &Report::up(lo_p + d % (hi_p - lo_p + 1)));
            let changed = !pool.tick(now).is_empty();
            if t as u64 > settle {
                let w = pool.weight(a).unwrap();
                prop_assert!(w + band >= lo && w <= hi + band,
                    "t={t}: weight {w} outside [{lo}, {hi}] ± {band}");
                changes_after += usize::from(changed);
            }
        }
        // Noise narrower than the band, steps wide enough: at most two
        // more moves (onto a target, and onto the configured weight).
        let step = (u64::from(configured) * u64::from(cfg.max_step_percent)).div_ceil(100);
        if hi - lo <= band && step >= 2 * u64::from(band) {
            prop_assert!(changes_after <= 2, "{changes_after} changes after settling");
        }
    }

    #[test]
    fn silent_agents_never_reach_zero_and_return_to_configured(
        cfg in config(),
        configured in 1u32..=1000,
        reports in proptest::collection::vec(0u32..=100, 1..30),
        silence_ticks in 0u64..200,
    ) {
        let mut pool = Pool::new(cfg.clone()).unwrap();
        let a = pool.add(configured, true);
        let mut now = Duration::ZERO;
        for p in reports {
            pool.report(a, now, &Report::up(p));
            pool.tick(now);
            prop_assert!(pool.weight(a).unwrap() >= 1);
            now += Duration::from_secs(2);
        }
        for _ in 0..silence_ticks {
            pool.tick(now);
            prop_assert!(pool.weight(a).unwrap() >= 1);
            now += Duration::from_secs(2);
        }
        // Past the expiry, enough steps: the configured weight.
        now += cfg.expiry;
        for _ in 0..=(100 / cfg.max_step_percent + 1) {
            pool.tick(now);
            prop_assert!(pool.weight(a).unwrap() >= 1);
            now += Duration::from_secs(2);
        }
        prop_assert_eq!(pool.weight(a), Some(configured));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Under constant reports, a real server without an agent settles
    /// within the band of configured × the mean of the agents' percentages.
    #[test]
    fn a_server_without_an_agent_settles_at_the_mean(
        cfg in config(),
        reports in proptest::collection::vec(0u32..=100, 1..5),
        configured in 1u32..=1000,
    ) {
        let mut pool = Pool::new(cfg.clone()).unwrap();
        let agents: Vec<usize> = reports.iter().map(|_| pool.add(100, true)).collect();
        let plain = pool.add(configured, false);
        let ticks = cfg.blackout.as_secs() + 2 + u64::from(100 / cfg.max_step_percent);
        let mut now = Duration::ZERO;
        for _ in 0..=ticks {
            for (&i, &p) in agents.iter().zip(&reports) {
                pool.report(i, now, &Report::up(p));
            }
            pool.tick(now);
            now += Duration::from_secs(1);
        }
        let mean = f64::from(reports.iter().sum::<u32>()) / reports.len() as f64;
        let target = weight_for(configured, mean);
        let band = configured * cfg.band_percent / 100;
        let w = pool.weight(plain).unwrap();
        prop_assert!(w.abs_diff(target) <= band, "weight {w}, target {target}, band {band}");
        prop_assert!(w >= 1);
    }
}
