//! Kernel-lab suite: ipvsctl against the real kernel and the real ipvsadm 1.31
//! (`cargo xtask kernel-lab -p ipvsctl`). Every scenario runs through ipvsadm
//! in one fresh network namespace and through ipvsctl in another; the tables
//! (`ipvsadm -S -n`), every listing, and each command's exit status and
//! messages must be the same bytes.

#[path = "support/lab_restore.rs"]
mod lab_restore;
mod support;

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

const BIN: &str = env!("CARGO_BIN_EXE_ipvsctl");

/// What one command printed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Out {
    status: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The two tools, run the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Ipvsadm,
    Ipvsctl,
}

impl Tool {
    fn program(self) -> &'static str {
        match self {
            Tool::Ipvsadm => "ipvsadm",
            Tool::Ipvsctl => BIN,
        }
    }

    fn run_input(self, args: &[String], input: Option<&str>) -> Out {
        let (status, stdout, stderr) = support::spawn(self.program(), args, input);
        Out {
            status,
            stdout,
            // Messages name the program as invoked; compare them as ipvsadm's.
            stderr: stderr.replace(BIN, "ipvsadm"),
        }
    }

    fn run(self, line: &str) -> Out {
        self.run_input(&words(line), None)
    }
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(String::from).collect()
}

fn ipvsadm_save() -> String {
    let out = Tool::Ipvsadm.run("-S -n");
    assert_eq!(out.status, Some(0), "{out:?}");
    out.stdout
}

/// Runs `f` on a new thread inside a fresh network namespace with `lo` up,
/// and empties that namespace's IPVS state before leaving it.
fn in_fresh_netns<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).expect("unshare");
                let up = Command::new("ip")
                    .args(["link", "set", "lo", "up"])
                    .status();
                assert!(up.is_ok_and(|s| s.success()), "ip link set lo up");
                let result = f();
                for line in ["-C", "--stop-daemon master", "--stop-daemon backup"] {
                    let _ = Tool::Ipvsadm.run(line);
                }
                assert_eq!(ipvsadm_save(), "", "table left behind");
                result
            })
            .join()
            .expect("namespace thread")
    })
}

/// Listings compared between the tools after each scenario.
const LISTINGS: &[&str] = &[
    "-Ln",
    "-Ln --stats",
    "-Ln --rate",
    "-Ln --exact",
    "-Ln --thresholds",
    "-Ln --persistent-conn",
    "-Ln --tun-info",
    "-Ln --nosort",
    "-Ln --stats --exact",
    "-L -n --timeout",
    "-L --daemon",
    "-S -n",
    "-l -n",
    "-Lnc",
    "-L",
    "-L --stats --exact",
    "-S",
    "",
    "-Ln --sort",
    "--list --numeric --tun-info",
];

/// Everything one tool's scenario printed, and the table it left.
#[derive(Debug)]
struct Run {
    commands: Vec<(String, Out)>,
    table: String,
}

/// Runs a scenario through `tool` in a fresh namespace, then every listing
/// through both tools in that same namespace: the kernel's dump order
/// differs between namespaces (its hash mixes in the namespace), and
/// ipvsadm's order for some sets depends on it, so listings are compared
/// where both tools see the same kernel order.
fn run_scenario(tool: Tool, lines: &[&str], extra_listings: &[&str]) -> Run {
    in_fresh_netns(|| {
        let commands = lines
            .iter()
            .map(|line| (line.to_string(), tool.run(line)))
            .collect();
        for line in LISTINGS.iter().chain(extra_listings) {
            let theirs = Tool::Ipvsadm.run(line);
            let mine = Tool::Ipvsctl.run(line);
            if line.starts_with("-S") {
                assert_eq!(
                    without_thresholds(&mine.stdout),
                    theirs.stdout,
                    "`{line}` after {tool:?}"
                );
                assert_eq!(
                    (mine.status, &mine.stderr),
                    (theirs.status, &theirs.stderr),
                    "`{line}`"
                );
            } else {
                assert_eq!(mine, theirs, "listing `{line}` after {tool:?}");
            }
        }
        Run {
            commands,
            table: canonical(&ipvsadm_save()),
        }
    })
}

/// `ipvsadm -S -n` in an order that does not depend on the kernel's: services
/// (each with its sorted destinations) sorted.
fn canonical(save: &str) -> String {
    let mut blocks: Vec<Vec<&str>> = Vec::new();
    for line in save.lines() {
        match blocks.last_mut() {
            Some(block) if !line.starts_with("-A ") => block.push(line),
            _ => blocks.push(vec![line]),
        }
    }
    for block in &mut blocks {
        block[1..].sort_unstable();
    }
    blocks.sort();
    blocks.concat().join("\n")
}

/// `-S` of ipvsctl adds `-x`/`-y`; the rest is ipvsadm's.
fn without_thresholds(save: &str) -> String {
    save.lines()
        .map(|line| {
            let mut out = Vec::new();
            let mut words = line.split(' ');
            while let Some(w) = words.next() {
                if w == "-x" || w == "-y" {
                    words.next();
                } else {
                    out.push(w);
                }
            }
            out.join(" ") + "\n"
        })
        .collect()
}

fn differential(lines: &[&str], extra_listings: &[&str]) {
    let reference = run_scenario(Tool::Ipvsadm, lines, extra_listings);
    let ours = run_scenario(Tool::Ipvsctl, lines, extra_listings);
    assert_eq!(ours.table, reference.table, "kernel tables differ");
    for ((line, theirs), (_, mine)) in reference.commands.iter().zip(&ours.commands) {
        assert_eq!(mine, theirs, "command `{line}`");
    }
}

/// Host names (the lab's `/etc/hosts`) and port names (`/etc/services`) are
/// resolved as ipvsadm resolves them: same tables, same listings.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn differential_host_and_port_names() {
    let lines = [
        "-A -t localhost:http -s rr",
        "-a -t localhost:http -r localhost:https -m -w 2",
        "-a -t localhost:http -r 127.0.0.2:www -m",
        "-A -u 127.0.0.1:domain -s wlc",
        "-A -t localhost:ssh -p -M localhost",
        "-A -t no-such-host.invalid:80",
        "-A -t 127.0.0.1:no-such-port",
    ];
    differential(&lines, &[]);
    let named = run_scenario(Tool::Ipvsctl, &lines, &[]);
    let numeric = run_scenario(
        Tool::Ipvsctl,
        &[
            "-A -t 127.0.0.1:80 -s rr",
            "-a -t 127.0.0.1:80 -r 127.0.0.1:443 -m -w 2",
            "-a -t 127.0.0.1:80 -r 127.0.0.2:80 -m",
            "-A -u 127.0.0.1:53 -s wlc",
            "-A -t 127.0.0.1:22 -p -M 127.0.0.1",
        ],
        &[],
    );
    assert_eq!(named.table, numeric.table);
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn differential_services_destinations_and_errors() {
    differential(
        &[
            "-A -t 10.1.0.1:80 -s wrr",
            "-a -t 10.1.0.1:80 -r 10.1.0.2:80 -m -w 3",
            "-a -t 10.1.0.1:80 -r 10.1.0.3:80 -g -w 1 -x 100 -y 10",
            "-a -t 10.1.0.1:80 -r 10.1.0.4 -i -w 2",
            "-a -t 10.1.0.1:80 -r 10.1.0.5:80 -i --tun-type gue --tun-port 6080 --tun-csum",
            "-a -t 10.1.0.1:80 -r 10.1.0.6:80 -i --tun-type gre --tun-nocsum",
            "-a -t 10.1.0.1:80 -r 10.1.0.7:80 -i --tun-type gue --tun-port 7000 --tun-remcsum",
            "-a -t 10.1.0.1:80 -r 10.1.0.8:8080 -m -w 0",
            "-e -t 10.1.0.1:80 -r 10.1.0.2:80 -m -w 5",
            "-e -t 10.1.0.1:80 -r 10.1.0.8:8080 -m",
            "-E -t 10.1.0.1:80 -s wrr -p 300 -M 255.255.255.0",
            "-A -u 10.1.0.1:53 -s rr -o",
            "-A -t 10.1.0.1:443 -s sh -b sh-fallback,sh-port",
            "--add-service --sctp-service 10.1.0.1:9000 -s mh -b mh-fallback,mh-port",
            "-A -u 10.1.0.1:5060 -s rr -p 60 --pe sip",
            "-A -t 10.1.0.1:22 -s wlc -b flag-1,flag-3",
            "-A -f 42 -s rr",
            "-a -f 42 -r 10.1.0.2 -g -w 1",
            "-A -f 43 -6 -s wlc -p",
            "-a -f 43 -r [2001:db8::9] -g",
            "-A -t [2001:db8::1]:443 -s lc -p 100 -M 64",
            "-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -m -w 2",
            "-a -t [2001:db8::1]:443 -r [2001:db8::3] -i --tun-type ipip",
            "-a -t [2001:db8::1]:443 -r 10.1.0.9 -i",
            "-A -t 10.1.0.1:0 -p 30",
            "-a -t 10.1.0.1:0 -r 10.1.0.2:0 -m -w 70000",
            "-A -t 10.1.0.2:80 -s rr -M 255.255.0.0",
            "-A -t 10.1.0.3:80 -s rr -p -M 24",
            "-A -t 10.1.0.4:80 -s rr -p --pe sip",
            "-A -t 10.1.0.5:80 -s dh -x 5",
            "-A -t 10.1.0.1:443 -s sh",
            "-D -t 10.9.9.9:80",
            "-A -t 10.1.0.9:80 -s nosuch",
            "-d -t 10.1.0.1:443 -r 10.9.9.9:80",
            "-a -t 10.9.9.9:80 -r 10.1.0.2:80",
            "-a -t 10.1.0.1:80 -r 10.1.0.2:80 -m",
            "-e -t 10.1.0.1:80 -r 10.9.9.9:80 -m",
            "-Z -t 10.9.9.9:80",
            "-a -t 10.1.0.1:80 -r 10.1.0.10:80 -m -x 5 -y 10",
            "-d -t 10.1.0.1:80 -r 10.1.0.3",
            "-D -t 10.1.0.2:80",
            "-Z -t 10.1.0.1:80",
            "-Z",
            "-E -t 10.1.0.3:80",
            "--set 900 120 300",
            "--set 0 0 0",
            "-Ln -t 10.9.9.9:80",
        ],
        &[
            "-Ln -t 10.1.0.1:80",
            "-Ln -f 42",
            "-Ln --tun-info -t [2001:db8::1]:443",
            "-S -n -f 43 -6",
        ],
    );
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn differential_sort_order_and_odd_values() {
    differential(
        &[
            "-A -f 4294967295 -s rr",
            "-A -f 1 -s rr",
            "-A -f 2147483648 -s rr",
            "-A -t 192.0.2.36:80 -s rr",
            "-A -t 10.0.0.36:80 -s rr",
            "-A -t 128.0.0.1:80 -s rr",
            "-A -t 127.255.255.255:80 -s rr",
            "-A -u 10.0.0.36:80 -s rr",
            "-A -t 10.0.0.36:65535 -s rr",
            "-A -t 10.0.0.36:1 -s rr",
            "-A -t [ffff::1]:80 -s rr",
            "-A -t [::1]:80 -s rr",
            "-A -t [8000::]:80 -s rr",
            "-A -t [2001:db8::]:80 -s rr",
            "-a -t 10.0.0.36:80 -r 192.0.2.1:80 -m",
            "-a -t 10.0.0.36:80 -r 10.0.0.1:80 -m",
            "-a -t 10.0.0.36:80 -r 200.0.0.1:80 -m",
            "-a -t 10.0.0.36:80 -r 10.0.0.1:81 -m",
            "-a -t 10.0.0.36:80 -r 10.0.0.1:65535 -m",
            "-a -t 10.0.0.36:80 -r 127.0.0.1:80 -m",
            "-a -t 10.0.0.36:80 -r 0x0a000063:80 -m",
            "-a -t 10.0.0.36:80 -r 10.5:80 -m",
        ],
        &[],
    );
}

#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn differential_daemons() {
    differential(
        &[
            "--start-daemon master --mcast-interface lo --syncid 5",
            "--start-daemon master --mcast-interface lo",
            "--start-daemon backup --mcast-interface lo --syncid 7 --sync-maxlen 1000 --mcast-port 9000 --mcast-ttl 3",
            "--stop-daemon master",
            "--stop-daemon master",
            "--start-daemon master --mcast-interface lo --mcast-group 239.1.2.3",
        ],
        &[],
    );
    differential(
        &["--start-daemon master --mcast-interface lo --mcast-group ff02::1234 --syncid 9"],
        &[],
    );
}

/// Every case of the bad-input matrix, through both tools, on a table that
/// must stay as it was.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn bad_input_matrix_through_both_tools() {
    let cases = support::bad_input_cases();
    assert!(cases.len() >= 50);
    in_fresh_netns(|| {
        for line in [
            "-A -t 10.0.0.1:80 -s rr",
            "-a -t 10.0.0.1:80 -r 10.0.0.2:80 -m",
            "--set 900 120 300",
        ] {
            assert_eq!(Tool::Ipvsadm.run(line).status, Some(0), "{line}");
        }
        let before = ipvsadm_save();
        let timeouts = Tool::Ipvsadm.run("-L --timeout").stdout;
        for case in &cases {
            let theirs = Tool::Ipvsadm.run_input(&case.args, None);
            let mine = Tool::Ipvsctl.run_input(&case.args, None);
            assert_eq!(mine, theirs, "ipvsctl {:?}", case.args);
            assert_ne!(mine.status, Some(0), "{:?} was accepted", case.args);
            assert_eq!(ipvsadm_save(), before, "{:?} changed the table", case.args);
        }
        assert_eq!(Tool::Ipvsadm.run("-L --timeout").stdout, timeouts);
        assert_eq!(Tool::Ipvsadm.run("-L --daemon").stdout, "");
    });
}

const RICH_TABLE: &[&str] = &[
    "-A -t 10.2.0.1:80 -s wrr -p 300 -M 255.255.255.0",
    "-a -t 10.2.0.1:80 -r 10.2.0.2:80 -m -w 5",
    "-a -t 10.2.0.1:80 -r 10.2.0.3:80 -g -w 1 -x 100 -y 10",
    "-a -t 10.2.0.1:80 -r 10.2.0.4:80 -i -w 2",
    "-a -t 10.2.0.1:80 -r 10.2.0.5:80 -i --tun-type gue --tun-port 6080 --tun-csum",
    "-a -t 10.2.0.1:80 -r 10.2.0.6:80 -i --tun-type gre --tun-csum",
    "-A -t 10.2.0.1:443 -s sh -b sh-port",
    "-A -u 10.2.0.1:53 -s rr -o",
    "-A -u 10.2.0.1:5060 -s rr -p 60 --pe sip",
    "-A --sctp-service 10.2.0.1:9000 -s mh -b mh-fallback",
    "-A -t [2001:db8::1]:443 -s lc -p 10 -M 48",
    "-a -t [2001:db8::1]:443 -r [2001:db8::2]:443 -m -w 2 -x 7",
    "-A -f 42 -s rr",
    "-a -f 42 -r 10.2.0.2 -g -w 1",
    "-A -f 43 -6 -s wlc",
];

fn build(lines: &[&str]) {
    for line in lines {
        let out = Tool::Ipvsctl.run(line);
        assert_eq!(out.status, Some(0), "{line}: {out:?}");
    }
}

/// `-S` → `-C` → `-R` loses nothing, with either tool saving and either
/// restoring.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn save_clear_restore_round_trips() {
    in_fresh_netns(|| {
        build(RICH_TABLE);
        let reference = ipvsadm_save();
        let listing = Tool::Ipvsctl.run("-Ln --thresholds").stdout;
        for (saver, restorer) in [
            (Tool::Ipvsctl, Tool::Ipvsctl),
            (Tool::Ipvsctl, Tool::Ipvsadm),
            (Tool::Ipvsadm, Tool::Ipvsctl),
        ] {
            let saved = saver.run("-S -n");
            assert_eq!(saved.status, Some(0));
            assert_eq!(Tool::Ipvsctl.run("-C").status, Some(0));
            assert_eq!(ipvsadm_save(), "");
            let restored = restorer.run_input(&words("-R"), Some(&saved.stdout));
            assert_eq!(
                restored.status,
                Some(0),
                "{saver:?} -> {restorer:?}: {restored:?}"
            );
            assert_eq!(ipvsadm_save(), reference, "{saver:?} -> {restorer:?}");
            // ipvsadm's own -S drops thresholds: only ipvsctl's keeps them.
            if saver == Tool::Ipvsctl {
                assert_eq!(Tool::Ipvsctl.run("-Ln --thresholds").stdout, listing);
            }
        }
    });
}

/// `diff` and `apply` of the table's own `-S -n` change nothing for every
/// kind of entry (persistence, netmasks, engines, scheduler flags, tunnels,
/// thresholds, IPv6, firewall marks); ipvsadm's `-S`, which drops
/// thresholds, differs exactly by them.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn apply_of_the_own_save_changes_nothing_on_every_kind_of_entry() {
    in_fresh_netns(|| {
        build(RICH_TABLE);
        let reference = ipvsadm_save();
        let own = Tool::Ipvsctl.run("-S -n").stdout;
        let path = std::env::temp_dir().join("ipvsctl-own-save");
        std::fs::write(&path, &own).unwrap();
        let file = path.to_str().unwrap();
        let out = Tool::Ipvsctl.run(&format!("diff --prune {file}"));
        assert_eq!((out.status, out.stdout.as_str()), (Some(0), ""), "{out:?}");
        let out = Tool::Ipvsctl.run(&format!("apply --prune {file}"));
        assert_eq!(
            out,
            Out {
                status: Some(0),
                stdout: String::new(),
                stderr: String::new()
            }
        );
        assert_eq!(ipvsadm_save(), reference);
        // ipvsadm's save lost the thresholds: restoring it means editing
        // exactly the destinations that had them.
        std::fs::write(&path, &reference).unwrap();
        let out = Tool::Ipvsctl.run(&format!("diff {file}"));
        assert_eq!(out.status, Some(1), "{out:?}");
        let mut edits: Vec<&str> = out.stdout.lines().collect();
        edits.sort();
        assert_eq!(
            edits,
            vec![
                "-e -t 10.2.0.1:80 -r 10.2.0.3:80 -g -w 1",
                "-e -t [2001:db8::1]:443 -r [2001:db8::2]:443 -m -w 2",
            ]
        );
        let _ = std::fs::remove_file(&path);
    });
}

/// A kernel refusal in the middle of a restore leaves the table exactly as it
/// was, and names the refused line.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn restore_rolls_back_on_kernel_refusal() {
    in_fresh_netns(|| {
        build(&RICH_TABLE[..4]);
        let before = ipvsadm_save();
        let timeouts = Tool::Ipvsadm.run("-L --timeout").stdout;
        // Refusals the pre-check cannot see (the address type depends on the
        // namespace's routes) reach the kernel and are rolled back.
        // Only additions: undone by deleting what was added.
        let additions = "\
-A -t 10.3.0.1:80 -s rr
-a -t 10.3.0.1:80 -r 10.3.0.2:80 -m
-a -t 10.2.0.1:80 -r 10.3.0.9:80 -m
-a -t 10.3.0.1:80 -r 224.0.0.9:80 -m
-A -t 10.3.0.3:80 -s rr
";
        let out = Tool::Ipvsctl.run_input(&words("-R"), Some(additions));
        assert_eq!(out.status, Some(255), "{out:?}");
        assert_eq!(
            out.stderr,
            "line 4: Invalid operation.  Possibly wrong module version, address not unicast, ...\n\
             ipvsctl: nothing restored: every change of this input was rolled back\n"
        );
        assert_eq!(ipvsadm_save(), before);
        // Refusals the pre-check sees: nothing is sent.
        let out = Tool::Ipvsctl.run_input(
            &words("-R"),
            Some("-A -t 10.3.0.1:80 -s rr\n-A -t 10.3.0.2:80 -s nosuch\n"),
        );
        assert_eq!(out.status, Some(255), "{out:?}");
        assert!(
            out.stderr
                .starts_with("line 2: Scheduler or persistence engine not found\n"),
            "{}",
            out.stderr
        );
        assert_eq!(ipvsadm_save(), before);
        // Edits, deletions, timeouts and a flush: undone from a snapshot.
        let mixed = "\
-E -t 10.2.0.1:80 -s rr
-e -t 10.2.0.1:80 -r 10.2.0.2:80 -m -w 9
-d -t 10.2.0.1:80 -r 10.2.0.3:80
--set 1000 100 100
-A -t 10.3.0.1:80 -s rr
-a -t 10.2.0.1:80 -r 224.0.0.9:80 -m
";
        let out = Tool::Ipvsctl.run_input(&words("-R"), Some(mixed));
        assert_eq!(out.status, Some(255), "{out:?}");
        assert!(
            out.stderr.starts_with("line 6: Invalid operation."),
            "{}",
            out.stderr
        );
        assert!(
            out.stderr.ends_with(
                "ipvsctl: nothing restored: every change of this input was rolled back\n"
            ),
            "{}",
            out.stderr
        );
        assert_eq!(ipvsadm_save(), before);
        assert_eq!(Tool::Ipvsadm.run("-L --timeout").stdout, timeouts);
        let flush = "-C\n-A -t 10.3.0.1:80 -s rr\n-a -t 10.3.0.1:80 -r 10.3.0.1:80 -m -w 1\n-a -t 10.3.0.1:80 -r 10.3.0.1:80 -m\n";
        let out = Tool::Ipvsctl.run_input(&words("-R"), Some(flush));
        assert_eq!(out.status, Some(255), "{out:?}");
        assert!(
            out.stderr
                .starts_with("line 4: Destination already exists\n"),
            "{}",
            out.stderr
        );
        assert_eq!(ipvsadm_save(), before);
        // A daemon started by a refused restore is stopped again.
        let daemon = "--start-daemon master --mcast-interface lo --syncid 3\n-D -t 10.9.9.9:80\n";
        let out = Tool::Ipvsctl.run_input(&words("-R"), Some(daemon));
        assert_eq!(out.status, Some(255), "{out:?}");
        assert!(
            out.stderr.starts_with("line 2: No such service\n"),
            "{}",
            out.stderr
        );
        assert_eq!(Tool::Ipvsadm.run("-L --daemon").stdout, "");
        assert_eq!(ipvsadm_save(), before);
        // --dry-run and validation failures send nothing.
        let out = Tool::Ipvsctl.run_input(&words("-R --dry-run"), Some("-C\n"));
        assert_eq!(out.status, Some(0));
        let out = Tool::Ipvsctl.run_input(&words("-R"), Some("-C\n-a -t 10.2.0.1:80 -w 1\n"));
        assert_eq!(out.status, Some(2));
        assert_eq!(ipvsadm_save(), before);
    });
}

/// The pre-check answers as the kernel does: each line on a known table,
/// `-R --dry-run` through ipvsctl and the command itself through ipvsadm,
/// same success, same message.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn precheck_agrees_with_the_kernel() {
    let base = [
        "-A -t 10.9.0.1:80 -s rr",
        "-a -t 10.9.0.1:80 -r 10.9.0.2:80 -m",
    ];
    let cases = [
        "-A -t 10.9.0.1:80 -s rr",
        "-A -t 10.9.0.3:80 -s nosuch",
        "-A -t 10.9.0.3:80 -s none",
        "-A -t 10.9.0.3:80 -s wrr",
        "-A -u 10.9.0.3:5060 -p --pe sip",
        "-A -u 10.9.0.3:5060 -p --pe nosuch",
        "-E -t 10.9.0.3:80 -s rr",
        "-E -t 10.9.0.1:80 -s nosuch",
        "-E -t 10.9.0.1:80 -s lc",
        "-D -t 10.9.0.3:80",
        "-a -t 10.9.0.1:80 -r 10.9.0.2:80 -m",
        "-a -t 10.9.0.3:80 -r 10.9.0.2:80 -m",
        "-a -t 10.9.0.1:80 -r 10.9.0.4:80 -m -y 5",
        "-a -t 10.9.0.1:80 -r 10.9.0.4:80 -m -x 5 -y 6",
        "-a -t 10.9.0.1:80 -r 10.9.0.4:80 -m -x 6 -y 5",
        "-e -t 10.9.0.1:80 -r 10.9.0.4:80 -m",
        "-e -t 10.9.0.1:80 -r 10.9.0.2:80 -m -y 3",
        "-d -t 10.9.0.1:80 -r 10.9.0.4:80",
        "-d -t 10.9.0.3:80 -r 10.9.0.2:80",
        "-Z -t 10.9.0.3:80",
        "-Z -t 10.9.0.1:80",
        "--stop-daemon master",
        "-C",
    ];
    in_fresh_netns(|| {
        for case in cases {
            build(&base);
            let checked =
                Tool::Ipvsctl.run_input(&words("-R --dry-run"), Some(&format!("{case}\n")));
            let real = Tool::Ipvsadm.run(case);
            assert_eq!(
                checked.status == Some(0),
                real.status == Some(0),
                "`{case}`: pre-check {checked:?}, kernel {real:?}"
            );
            if real.status != Some(0) {
                let first = checked.stderr.lines().next().unwrap_or("");
                assert_eq!(
                    first.strip_prefix("line 1: "),
                    Some(real.stderr.trim_end()),
                    "`{case}`"
                );
            }
            assert_eq!(Tool::Ipvsadm.run("-C").status, Some(0));
        }
    });
}

/// `--netns NAME` works for every kind of command, and `--json` parses.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn netns_and_json() {
    let name = "ipvsctl-lab";
    std::fs::create_dir_all("/run/netns").unwrap();
    let path = format!("/run/netns/{name}");
    // A namespace file that stays valid after its thread is gone: bind-mount
    // a fresh namespace's file, as `ip netns add` does.
    in_fresh_netns(|| {
        std::fs::write(&path, b"").unwrap();
        let status = Command::new("mount")
            .args(["--bind", "/proc/thread-self/ns/net", &path])
            .status()
            .unwrap();
        assert!(status.success(), "bind mount of the namespace");
        let ns = |line: &str| Tool::Ipvsctl.run(&format!("--netns {name} {line}"));
        // Outside the namespace: these change only the namespace's table.
        std::thread::scope(|s| {
            s.spawn(|| {
                nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
                let added = ns("-A -t 10.4.0.1:80 -s rr");
                assert_eq!(added.status, Some(0), "{added:?}");
                assert_eq!(
                    ns("-a -t 10.4.0.1:80 -r 10.4.0.2:80 -m -w 4").status,
                    Some(0)
                );
                assert_eq!(ns("--set 100 10 10").status, Some(0));
                assert_eq!(ipvsadm_save(), "", "the caller's namespace stays empty");
                let json = ns("-Ln --json");
                assert_eq!(json.status, Some(0), "{json:?}");
                let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
                assert_eq!(doc["services"][0]["address"], "10.4.0.1");
                assert_eq!(doc["services"][0]["destinations"][0]["weight"], 4);
                let t: serde_json::Value =
                    serde_json::from_str(&ns("-L --timeout --json").stdout).unwrap();
                assert_eq!(t["tcp"], 100);
                let c: serde_json::Value =
                    serde_json::from_str(&ns("-L -c --json").stdout).unwrap();
                assert!(c["connections"].as_array().unwrap().is_empty());
                let d: serde_json::Value =
                    serde_json::from_str(&ns("-L --daemon --json").stdout).unwrap();
                assert!(d["daemons"].as_array().unwrap().is_empty());
                let restore = Tool::Ipvsctl.run_input(
                    &words(&format!("--netns {name} -R")),
                    Some("-A -u 10.4.0.1:53 -s rr\n"),
                );
                assert_eq!(restore.status, Some(0), "{restore:?}");
                assert_eq!(ns("-C").status, Some(0));
            })
            .join()
            .unwrap();
        });
        assert_eq!(ipvsadm_save(), "");
        let _ = Command::new("umount").arg(&path).status();
        let _ = std::fs::remove_file(&path);
    });
    let missing = Tool::Ipvsctl.run("--netns no-such-ns -Ln");
    assert_eq!(missing.status, Some(2));
    assert_eq!(missing.stderr.lines().count(), 1, "{missing:?}");
}

/// Inside a fresh namespace: two NAT services with local listeners behind
/// them, five open client connections and one refused one, and the
/// counters folded (the kernel does it every 2 s). The sockets are returned
/// to be kept open.
fn services_with_traffic() -> (Vec<std::net::TcpListener>, Vec<std::net::TcpStream>) {
    let ip = Command::new("ip")
        .args(["addr", "add", "10.0.0.1/8", "dev", "lo"])
        .status();
    assert!(ip.is_ok_and(|s| s.success()));
    build(&[
        "-A -t 10.0.0.100:80 -s rr -p 120",
        "-a -t 10.0.0.100:80 -r 10.0.0.2:80 -m",
        "-a -t 10.0.0.100:80 -r 10.0.0.3:80 -m",
        "-A -t 10.0.0.101:22 -s rr",
        "-a -t 10.0.0.101:22 -r 10.0.0.4:22 -m",
    ]);
    let listeners: Vec<_> = ["10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:22"]
        .iter()
        .map(|a| std::net::TcpListener::bind(a).unwrap())
        .collect();
    let mut clients = Vec::new();
    for (vip, n) in [("10.0.0.100:80", 3), ("10.0.0.101:22", 2)] {
        for _ in 0..n {
            let mut c = std::net::TcpStream::connect(vip).unwrap();
            c.write_all(b"hello").unwrap();
            clients.push(c);
        }
    }
    // One refused connection (no listener): an inactive entry.
    let _ = std::net::TcpStream::connect("10.0.0.101:23");
    // Wait for the counters to be folded, so the ones compared are not zeros.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    (listeners, clients)
}

/// Real connections (local clients, NAT to a local listener, persistence
/// templates): the connection table and the counters, printed by both tools.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn connections_and_counters() {
    in_fresh_netns(|| {
        let (listeners, clients) = services_with_traffic();
        for line in [
            "-Lnc",
            "-Lnc --persistent-conn",
            "-Lc",
            "-Ln --persistent-conn",
            "-Ln --stats",
            "-Ln --stats --exact",
            "-L --stats",
            "-Ln",
            "-Ln --rate",
        ] {
            // Expiry counts down and rates move: compare a moment both saw.
            let mut last = None;
            for _ in 0..10 {
                let theirs = Tool::Ipvsadm.run(line);
                let mine = Tool::Ipvsctl.run(line);
                if mine == theirs {
                    last = None;
                    break;
                }
                last = Some((mine, theirs));
            }
            if let Some((mine, theirs)) = last {
                assert_eq!(mine, theirs, "`{line}`");
            }
        }
        let table = Tool::Ipvsctl.run("-Lnc").stdout;
        assert!(table.lines().count() >= 2 + 5, "{table}");
        let json: serde_json::Value =
            serde_json::from_str(&Tool::Ipvsctl.run("-L -c --json").stdout).unwrap();
        let conns = json["connections"].as_array().unwrap();
        assert!(conns.iter().any(|c| c["state"] == "ESTABLISHED"), "{json}");
        let stats: serde_json::Value =
            serde_json::from_str(&Tool::Ipvsctl.run("-Ln --json").stdout).unwrap();
        let total: u64 = stats["services"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["stats"]["connections"].as_u64().unwrap())
            .sum();
        assert!(total >= 5, "{stats}");
        drop(clients);
        drop(listeners);
    });
}

/// `-Z` in a restore is sent after every other line has been applied: a
/// refused line leaves the counters as they were; an accepted restore
/// zeroes them.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn restore_zeroes_counters_only_when_everything_else_applied() {
    in_fresh_netns(|| {
        let (listeners, clients) = services_with_traffic();
        let stats = || Tool::Ipvsadm.run("-Ln --stats --exact").stdout;
        let before = stats();
        let table = ipvsadm_save();
        assert!(before.contains("TCP  10.0.0.100:80"), "{before}");
        // The service's connection counter (`TCP  10.0.0.100:80  CONNS ...`).
        let counted = |text: &str| {
            text.lines()
                .find(|l| l.starts_with("TCP  10.0.0.100:80"))
                .and_then(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok())
                .is_some_and(|conns| conns > 0)
        };
        assert!(counted(&before), "counters still zero: {before}");
        // Line 2 is refused: nothing applied, counters untouched.
        let out = Tool::Ipvsctl.run_input(
            &words("-R"),
            Some("-Z\n-A -t 10.0.0.100:80 -s rr\n-A -t 10.0.0.102:80 -s rr\n"),
        );
        assert_eq!(out.status, Some(255), "{out:?}");
        assert_eq!(
            out.stderr,
            "line 2: Service already exists\n\
             ipvsctl: nothing sent: checked against the live table, the kernel would refuse the above\n"
        );
        assert_eq!(stats(), before);
        assert_eq!(ipvsadm_save(), table);
        // Accepted: the service is added and the counters are zeroed.
        let out = Tool::Ipvsctl.run_input(&words("-R"), Some("-Z\n-A -t 10.0.0.102:80 -s rr\n"));
        assert_eq!(out.status, Some(0), "{out:?}");
        let after = stats();
        assert!(after.contains("TCP  10.0.0.102:80"), "{after}");
        assert!(!counted(&after), "not zeroed: {after}");
        drop(clients);
        drop(listeners);
    });
}

/// `-L --watch` redraws in place and ends cleanly on Ctrl-C.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn watch_redraws_and_stops_on_ctrl_c() {
    in_fresh_netns(|| {
        build(&[
            "-A -t 10.5.0.1:80 -s rr",
            "-a -t 10.5.0.1:80 -r 10.5.0.2:80 -m",
        ]);
        let child = Command::new(BIN)
            .args(["-Ln", "--watch", "0.2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let kill = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        assert!(kill.is_ok_and(|s| s.success()));
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        let frames = text.matches("\x1b[H").count();
        assert!(frames >= 2, "{frames} frames: {text:?}");
        assert!(text.contains("TCP  10.5.0.1:80"), "{text:?}");
        assert!(text.contains("CPS    InPPS   OutPPS"), "{text:?}");
        assert!(text.ends_with("\x1b[?25h\n"), "cursor restored: {text:?}");
        assert!(out.stderr.is_empty());
    });
}

/// The watch on a terminal of 8 rows: frames clipped to 7 lines with a
/// note, the weight-0 destination in reverse video; resized to 40 rows
/// (SIGWINCH) the whole table at once; Ctrl-C ends it with the cursor back.
/// Intervals out of range are refused before the screen is touched; a
/// closed pipe ends it with status 0 and no message; `-t` shows one service.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn watch_fits_the_terminal_and_ends_quietly() {
    use std::io::Read as _;
    use std::sync::{Arc, Mutex};
    in_fresh_netns(|| {
        let mut lines: Vec<String> = (1..=12)
            .map(|i| format!("-A -t 10.6.0.{i}:80 -s rr"))
            .collect();
        lines.push("-a -t 10.6.0.1:80 -r 10.6.1.1:80 -m -w 0".into());
        lines.push("-a -t 10.6.0.1:80 -r 10.6.1.2:80 -m -w 1".into());
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        build(&lines);
        for huge in ["1e19", "1e20"] {
            let out = Tool::Ipvsctl.run(&format!("-Ln --watch {huge}"));
            assert_eq!(
                (out.status, out.stdout.as_str(), out.stderr),
                (
                    Some(2),
                    "",
                    format!("invalid watch interval `{huge}' specified\n")
                )
            );
        }
        // A terminal of 8 rows.
        let master =
            rustix::pty::openpt(rustix::pty::OpenptFlags::RDWR | rustix::pty::OpenptFlags::NOCTTY)
                .unwrap();
        rustix::pty::grantpt(&master).unwrap();
        rustix::pty::unlockpt(&master).unwrap();
        let name = rustix::pty::ptsname(&master, Vec::new()).unwrap();
        let size = |rows: u16| rustix::termios::Winsize {
            ws_row: rows,
            ws_col: 120,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        rustix::termios::tcsetwinsize(&master, size(8)).unwrap();
        let slave = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(name.to_str().unwrap())
            .unwrap();
        let child = Command::new(BIN)
            .args(["-Ln", "--watch", "0.3"])
            .stdout(Stdio::from(slave))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let seen = Arc::clone(&seen);
            let mut file = std::fs::File::from(master.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(n) = file.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    seen.lock().unwrap().extend_from_slice(&buf[..n]);
                }
            })
        };
        let frames = |seen: &Arc<Mutex<Vec<u8>>>| -> Vec<String> {
            let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
            text.split("\x1b[H").skip(1).map(String::from).collect()
        };
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let small = frames(&seen);
        assert!(small.len() >= 2, "{small:?}");
        let last = small[small.len() - 2].clone();
        assert_eq!(last.matches("\x1b[K").count(), 7, "{last:?}");
        assert!(last.contains("... 13 more lines"), "{last:?}");
        assert!(
            last.contains("rates: counter changes between the kernel's 2 s updates"),
            "{last:?}"
        );
        let before = small.len();
        rustix::termios::tcsetwinsize(&master, size(40)).unwrap();
        let kill = |signal: &str| {
            let status = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status();
            assert!(status.is_ok_and(|s| s.success()));
        };
        kill("-WINCH");
        // A frame drawn for 8 rows may still be on its way through the pty
        // when the size changes: look for the first whole one after it.
        let started = std::time::Instant::now();
        let whole = loop {
            let big = frames(&seen);
            let found = big[before..]
                .iter()
                .find(|f| f.contains("\x1b[J") && !f.contains("more lines"))
                .cloned();
            if let Some(frame) = found {
                break frame;
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(3),
                "no whole frame within 3 s of the resize: {:?}",
                &big[before..]
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let whole = &whole;
        assert!(!whole.contains("more lines"), "{whole:?}");
        assert!(whole.contains("TCP  10.6.0.12:80"), "{whole:?}");
        assert!(
            whole.contains("\x1b[7m  -> 10.6.1.1:80"),
            "weight 0 highlighted: {whole:?}"
        );
        assert!(!whole.contains("\x1b[7m  -> 10.6.1.2:80"), "{whole:?}");
        kill("-INT");
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(out.stderr.is_empty(), "{out:?}");
        drop(master);
        reader.join().unwrap();
        let text = String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
        assert!(
            text.ends_with("\x1b[?25h\r\n"),
            "cursor restored: {:?}",
            &text[text.len().saturating_sub(40)..]
        );
        // A reader that goes away ends the watch quietly.
        let mut child = Command::new(BIN)
            .args(["-Ln", "--watch", "0.2", "-t", "10.6.0.2:80"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while got.windows(3).filter(|w| w == b"\x1b[J").count() < 2 {
            let n = stdout.read(&mut buf).unwrap();
            assert!(n > 0, "watch ended early");
            got.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.contains("TCP  10.6.0.2:80") && !text.contains("10.6.0.3:80"),
            "-t shows one service: {text:?}"
        );
        drop(stdout);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// `ipvsctl service` without systemd, in a root of its own: save → flush →
/// start restores the same `-S` output (Red Hat and Debian files) and a
/// second start sends nothing; bad rules leave the table as it was, in one
/// line; a save killed between writing and renaming leaves the old file
/// intact; save-on-stop; Debian's DAEMON started at start, stopped at stop.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn service_save_flush_start_restores_the_table() {
    in_fresh_netns(|| {
        build(&RICH_TABLE[..8]);
        let reference = ipvsadm_save();
        let root = std::env::temp_dir().join("ipvsctl-service-root");
        let root_arg = root.to_str().unwrap().to_string();
        let service = |args: &str| {
            let mut argv = words(&format!("service {args}"));
            argv.extend(["--root".to_string(), root_arg.clone()]);
            Tool::Ipvsctl.run_input(&argv, None)
        };
        for (style, rules) in [
            ("redhat", "etc/sysconfig/ipvsadm"),
            ("debian", "etc/ipvsadm.rules"),
        ] {
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(root.join("etc")).unwrap();
            let out = service(&format!("save --config-style {style}"));
            assert_eq!(out.status, Some(0), "{out:?}");
            let saved = std::fs::read_to_string(root.join(rules)).unwrap();
            assert_eq!(saved, Tool::Ipvsctl.run("-S -n").stdout, "{style}");
            assert_eq!(Tool::Ipvsadm.run("-C").status, Some(0));
            let out = service("start");
            assert_eq!(out.status, Some(0), "{style}: {out:?}");
            assert_eq!(ipvsadm_save(), reference, "{style}");
            let counters = Tool::Ipvsadm.run("-Ln --stats --exact").stdout;
            assert_eq!(service("start").status, Some(0));
            assert_eq!(ipvsadm_save(), reference);
            assert_eq!(Tool::Ipvsadm.run("-Ln --stats --exact").stdout, counters);
        }
        // Debian's files from here on. Bad rules: one line, table kept.
        let rules = root.join("etc/ipvsadm.rules");
        let good = std::fs::read_to_string(&rules).unwrap();
        for bad in [
            "-A -t 10.7.0.1:80 -s rr\n-a -t 10.7.0.1:80 -r 10.7.0.2:80 -m\n-a -t 10.7.0.1:80 -r 10.7.0.2:80 -m\n",
            "-A -t 10.7.0.1:80 -s nosuch\n-a -t 10.7.0.1:80 -r 10.7.0.2:80 -m\n",
            "-A -t 10.7.0.1:80 -s rr\n-a -t 10.7.0.1:80 -r 224.0.0.9:80 -m\n",
        ] {
            std::fs::write(&rules, bad).unwrap();
            let out = service("start");
            assert_ne!(out.status, Some(0), "{bad}");
            assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
            assert!(
                out.stderr
                    .starts_with(&format!("ipvsctl service: {}: line ", rules.display())),
                "{}",
                out.stderr
            );
            assert_eq!(ipvsadm_save(), reference, "{bad}");
        }
        std::fs::write(&rules, &good).unwrap();
        // A save killed between writing the new file and renaming it.
        build(&["-A -t 10.7.0.9:80 -s rr"]);
        let child = Command::new(BIN)
            .args(["service", "save", "--root", &root_arg])
            .env("IPVSCTL_SAVE_PAUSE_MS", "10000")
            .spawn()
            .unwrap();
        let tmp = root.join("etc/.ipvsadm.rules.tmp");
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        while !tmp.exists() {
            assert!(Instant::now() < deadline, "no temporary file");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
        let kill = Command::new("kill")
            .args(["-KILL", &child.id().to_string()])
            .status();
        assert!(kill.is_ok_and(|s| s.success()));
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), None, "killed");
        assert_eq!(
            std::fs::read_to_string(&rules).unwrap(),
            good,
            "old rules intact"
        );
        assert_eq!(service("save").status, Some(0));
        let now = Tool::Ipvsctl.run("-S -n").stdout;
        assert!(now.contains("10.7.0.9:80"));
        assert_eq!(std::fs::read_to_string(&rules).unwrap(), now);
        assert_eq!(
            std::fs::read_to_string(root.join("etc/ipvsadm.rules.bak")).unwrap(),
            good
        );
        assert!(!tmp.exists());
        // Debian's daemon settings: started at start, stopped at stop; the
        // table stays at stop.
        std::fs::create_dir_all(root.join("etc/default")).unwrap();
        std::fs::write(
            root.join("etc/default/ipvsadm"),
            "AUTO=\"true\"\nDAEMON=\"backup\"\nIFACE=\"lo\"\nSYNCID=\"9\"\n",
        )
        .unwrap();
        assert_eq!(service("start").status, Some(0));
        let daemons = Tool::Ipvsadm.run("-L --daemon").stdout;
        assert!(
            daemons.contains("backup sync daemon (mcast=lo, syncid=9"),
            "{daemons}"
        );
        assert_eq!(service("stop").status, Some(0));
        assert_eq!(Tool::Ipvsadm.run("-L --daemon").stdout, "");
        assert_eq!(
            Tool::Ipvsctl.run("-S -n").stdout,
            now,
            "stop keeps the table"
        );
        // Red Hat's save on stop.
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("etc/sysconfig")).unwrap();
        std::fs::write(
            root.join("etc/sysconfig/ipvsadm-config"),
            "IPVS_SAVE_ON_STOP=\"yes\"\n",
        )
        .unwrap();
        assert_eq!(service("stop").status, Some(0));
        assert_eq!(
            std::fs::read_to_string(root.join("etc/sysconfig/ipvsadm")).unwrap(),
            now
        );
        let _ = std::fs::remove_dir_all(&root);
    });
}

/// Without CAP_NET_ADMIN (as user nobody) every command that reaches the
/// kernel fails with one clear line and ipvsadm's status 2.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn without_cap_net_admin_one_clear_line() {
    use std::os::unix::process::CommandExt as _;
    for args in [&["-Ln"][..], &["-A", "-t", "10.6.0.1:80"], &["-C"]] {
        let out = Command::new(BIN)
            .args(args)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr, "Can't initialize ipvs: Permission denied (you must be root)\n",
            "{args:?}"
        );
        let theirs = Command::new("ipvsadm")
            .args(args)
            .uid(65534)
            .gid(65534)
            .output()
            .unwrap();
        assert_eq!(theirs.status.code(), Some(2), "ipvsadm {args:?}");
        assert!(
            String::from_utf8_lossy(&theirs.stderr)
                .starts_with("Can't initialize ipvs: Permission denied (you must be root)\n"),
            "ipvsadm {args:?}: {theirs:?}"
        );
    }
}

fn timed(tool: Tool, args: &str, input: Option<&str>) -> (f64, Out) {
    if tool == Tool::Ipvsctl {
        return timed_in_phases(args, input);
    }
    let start = Instant::now();
    let out = tool.run_input(&words(args), input);
    (start.elapsed().as_secs_f64(), out)
}

/// ipvsctl timed as a whole and by its own phase timings
/// (`IPVSCTL_TIMINGS`), which are printed; the rest of its stderr is kept.
fn timed_in_phases(args: &str, input: Option<&str>) -> (f64, Out) {
    let start = Instant::now();
    let mut child = Command::new(BIN)
        .args(words(args))
        .env("IPVSCTL_TIMINGS", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ipvsctl");
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(input.unwrap_or_default().as_bytes())
        .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let (phases, rest): (Vec<&str>, Vec<&str>) = stderr
        .lines()
        .partition(|line| line.starts_with("ipvsctl timing: "));
    println!("ipvsctl {args}: {seconds:.3} s; {}", phases.join("; "));
    let rest: String = rest.iter().map(|line| format!("{line}\n")).collect();
    (
        seconds,
        Out {
            status: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: rest,
        },
    )
}

/// Timed comparison (figures printed, never asserted): restore 1,000 services
/// × 10 destinations, and list 5,000 services × 2 destinations.
#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn speed_restore_and_list() {
    let restore = lab_restore::lab_restore_input();
    // Three rounds, each tool in a fresh namespace, best of three as for
    // the listings. Before each run the machine is left alone for a moment:
    // the previous namespace's teardown (flushing 11,000 entries, RCU
    // callbacks, the namespace's exit work) runs in kernel workers and would
    // otherwise be charged to whichever tool runs next (about 30 ms under
    // emulation, measured).
    let mut runs = [Vec::new(), Vec::new()];
    for _ in 0..3 {
        for (i, tool) in [Tool::Ipvsadm, Tool::Ipvsctl].into_iter().enumerate() {
            std::thread::sleep(std::time::Duration::from_secs(1));
            let (seconds, table) = in_fresh_netns(|| {
                let (seconds, out) = timed(tool, "-R", Some(&restore));
                assert_eq!(out.status, Some(0), "{out:?}");
                (seconds, ipvsadm_save())
            });
            assert_eq!(table.lines().count(), 11_000);
            runs[i].push(seconds);
        }
    }
    let best = |times: &[f64]| times.iter().copied().fold(f64::MAX, f64::min);
    let all = |times: &[f64]| {
        let text: Vec<String> = times.iter().map(|t| format!("{t:.3}")).collect();
        text.join(" ")
    };
    println!(
        "restore 1000x10: ipvsadm -R {:.3} s, ipvsctl -R {:.3} s, {:.1}x (best of 3; ipvsadm {}, ipvsctl {})",
        best(&runs[0]),
        best(&runs[1]),
        best(&runs[0]) / best(&runs[1]),
        all(&runs[0]),
        all(&runs[1])
    );

    let mut big = String::new();
    for s in 0..5000u32 {
        let vip = format!(
            "10.{}.{}.{}:80",
            20 + s / 62500,
            (s / 250) % 250,
            s % 250 + 1
        );
        big.push_str(&format!("-A -t {vip} -s wlc\n"));
        for d in 0..2u32 {
            big.push_str(&format!(
                "-a -t {vip} -r 192.168.{}.{}:8080 -m -w 2\n",
                s % 250,
                1 + d
            ));
        }
    }
    in_fresh_netns(|| {
        let (_, out) = timed(Tool::Ipvsctl, "-R", Some(&big));
        assert_eq!(out.status, Some(0), "{out:?}");
        let mut best = [f64::MAX, f64::MAX];
        let mut outputs = Vec::new();
        for _ in 0..3 {
            for (i, tool) in [Tool::Ipvsadm, Tool::Ipvsctl].into_iter().enumerate() {
                let (seconds, out) = timed(tool, "-Ln", None);
                assert_eq!(out.status, Some(0));
                best[i] = best[i].min(seconds);
                outputs.push(out.stdout);
            }
        }
        assert_eq!(outputs[1], outputs[0], "5000-service listings differ");
        println!(
            "list 5000x2: ipvsadm -Ln {:.3} s, ipvsctl -Ln {:.3} s, {:.1}x (best of 3)",
            best[0],
            best[1],
            best[0] / best[1]
        );
    });
}
