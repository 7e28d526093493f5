//! Which guest tests run, and on which VM: the test arguments split into
//! what selects tests and what each test binary gets, the tests listed from
//! the built binaries, and the tests shared out over the VMs by their last
//! measured durations (longest first, each to the least loaded VM).
use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use super::suites::Suite;

/// libtest options that take a value.
const OPTIONS_WITH_VALUE: &[&str] = &[
    "--test-threads",
    "--logfile",
    "--skip",
    "--format",
    "--color",
    "--shuffle-seed",
    "-Z",
];

/// The user's test arguments, sorted by what they do.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TestArgs {
    /// Arguments that choose tests (name filters, `--exact`, `--skip X`):
    /// given to `--list` on the host.
    pub select: Vec<String>,
    /// `--ignored` (the default) or `--include-ignored`.
    pub ignored: String,
    /// Everything else, given to every test run in the guest.
    pub run: Vec<String>,
    /// Whether the tests' output is wanted as it comes (`--nocapture`,
    /// `--show-output`) rather than only for failing tests.
    pub stream: bool,
}

impl TestArgs {
    pub fn parse(args: &[String]) -> Self {
        let mut out = TestArgs {
            ignored: "--ignored".to_owned(),
            ..TestArgs::default()
        };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            let (name, inline_value) = match arg.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value)),
                _ => (arg.as_str(), None),
            };
            match name {
                "--ignored" | "--include-ignored" => out.ignored = name.to_owned(),
                "--exact" => out.select.push(arg.clone()),
                "--skip" => {
                    out.select.push(arg.clone());
                    if inline_value.is_none() {
                        out.select.extend(iter.next().cloned());
                    }
                }
                _ if OPTIONS_WITH_VALUE.contains(&name) => {
                    out.run.push(arg.clone());
                    if inline_value.is_none() {
                        out.run.extend(iter.next().cloned());
                    }
                }
                _ if name.starts_with('-') => {
                    if name == "--nocapture" || name == "--show-output" {
                        out.stream = true;
                    }
                    out.run.push(arg.clone());
                }
                _ => out.select.push(arg.clone()),
            }
        }
        out
    }
}

/// One guest test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCase {
    /// Index into the suites.
    pub suite: usize,
    /// The test's full name, as `--list` prints it.
    pub name: String,
    /// `package/target::name`, the name the lab reports it by.
    pub id: String,
}

/// Lists the tests of each built suite that the arguments select, by running
/// the test binary with `--list` on the host.
pub fn list_tests(suites: &[Suite], args: &TestArgs) -> anyhow::Result<Vec<TestCase>> {
    let mut tests = Vec::new();
    for (index, suite) in suites.iter().enumerate() {
        let exe = suite
            .executable
            .as_ref()
            .with_context(|| format!("{} was not built", suite.name()))?;
        let out = Command::new(exe)
            .arg("--list")
            .arg(&args.ignored)
            .args(&args.select)
            .current_dir(&suite.manifest_dir)
            .output()
            .with_context(|| format!("step `list tests`: running {} --list", exe.display()))?;
        if !out.status.success() {
            bail!(
                "step `list tests`: {} --list failed ({}): {}",
                exe.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        for name in parse_list(&String::from_utf8_lossy(&out.stdout)) {
            tests.push(TestCase {
                suite: index,
                id: format!("{}::{name}", suite.name()),
                name,
            });
        }
    }
    Ok(tests)
}

/// The test names in libtest's `--list` output (`name: test` lines).
fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.strip_suffix(": test"))
        .map(str::to_owned)
        .collect()
}

/// Measured durations of guest tests, by id, kept in the cache between runs.
#[derive(Debug, Default)]
pub struct Timings(HashMap<String, f64>);

/// What an unmeasured test is assumed to take, in seconds.
const UNKNOWN_DURATION: f64 = 1.0;

/// Durations measured once and kept in the repository, for a fresh clone
/// (as in CI) whose cache has none yet: `SECONDS<TAB>ID` lines. Refresh it by
/// copying `<target dir>/kernel-lab/timings.txt` after a run.
const KNOWN_TIMINGS: &str = include_str!("timings.txt");

impl Timings {
    /// The durations in the repository, overridden by those measured here in
    /// earlier runs (`path`; missing or unreadable means none yet).
    pub fn load(path: &Path) -> Self {
        let mut timings = Timings::default();
        timings.merge(KNOWN_TIMINGS);
        timings.merge(&fs::read_to_string(path).unwrap_or_default());
        timings
    }

    fn merge(&mut self, text: &str) {
        for line in text.lines() {
            if let Some((secs, id)) = line.split_once('\t')
                && let Ok(secs) = secs.parse()
            {
                self.0.insert(id.to_owned(), secs);
            }
        }
    }

    pub fn record(&mut self, id: &str, secs: f64) {
        self.0.insert(id.to_owned(), secs);
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut entries: Vec<_> = self.0.iter().collect();
        entries.sort_by(|a, b| a.0.cmp(b.0));
        let text: String = entries
            .into_iter()
            .map(|(id, secs)| format!("{secs:.2}\t{id}\n"))
            .collect();
        fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    fn estimate(&self, id: &str) -> f64 {
        self.0.get(id).copied().unwrap_or(UNKNOWN_DURATION)
    }
}

/// Shares `tests` out over `vms` VMs: longest first, each to the VM with the
/// least work so far. Within a VM, tests keep their suite and name order.
pub fn shard(tests: &[TestCase], vms: usize, timings: &Timings) -> Vec<Vec<TestCase>> {
    let vms = vms.clamp(1, tests.len().max(1));
    let mut order: Vec<&TestCase> = tests.iter().collect();
    order.sort_by(|a, b| {
        timings
            .estimate(&b.id)
            .total_cmp(&timings.estimate(&a.id))
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut shards: Vec<(f64, Vec<TestCase>)> = vec![(0.0, Vec::new()); vms];
    for test in order {
        let least = shards
            .iter_mut()
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("at least one VM");
        least.0 += timings.estimate(&test.id);
        least.1.push(test.clone());
    }
    shards
        .into_iter()
        .map(|(_, mut tests)| {
            tests.sort_by(|a, b| (a.suite, &a.name).cmp(&(b.suite, &b.name)));
            tests
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn filters_and_flags_are_told_apart() {
        let args = TestArgs::parse(&strings(&[
            "dump",
            "--exact",
            "--skip",
            "slow",
            "--test-threads",
            "2",
            "--nocapture",
            "batch",
        ]));
        assert_eq!(
            args.select,
            strings(&["dump", "--exact", "--skip", "slow", "batch"])
        );
        assert_eq!(args.run, strings(&["--test-threads", "2", "--nocapture"]));
        assert_eq!(args.ignored, "--ignored");
        assert!(args.stream);
    }

    #[test]
    fn include_ignored_replaces_the_default_and_inline_values_stay_whole() {
        let args = TestArgs::parse(&strings(&["--include-ignored", "--color=never", "x"]));
        assert_eq!(args.ignored, "--include-ignored");
        assert_eq!(args.run, strings(&["--color=never"]));
        assert_eq!(args.select, strings(&["x"]));
        assert!(!args.stream);
    }

    #[test]
    fn list_output_gives_the_test_names() {
        let text = "a::b: test\nc: test\nbench_x: benchmark\n\n2 tests, 1 benchmark\n";
        assert_eq!(parse_list(text), strings(&["a::b", "c"]));
    }

    fn case(suite: usize, name: &str) -> TestCase {
        TestCase {
            suite,
            name: name.to_owned(),
            id: format!("s{suite}::{name}"),
        }
    }

    #[test]
    fn the_longest_tests_are_spread_over_the_vms() {
        let tests = vec![
            case(0, "a"),
            case(0, "b"),
            case(1, "c"),
            case(1, "d"),
            case(1, "e"),
        ];
        let mut timings = Timings::default();
        timings.record("s0::a", 10.0);
        timings.record("s1::c", 9.0);
        timings.record("s1::d", 2.0);
        timings.record("s1::e", 2.0);
        // b is unmeasured: 1 s.
        let shards = shard(&tests, 2, &timings);
        let names = |i: usize| shards[i].iter().map(|t| t.id.as_str()).collect::<Vec<_>>();
        // a → vm0 (10), c → vm1 (9), d → vm1 (11), e → vm0 (12), b → vm1 (12).
        assert_eq!(names(0), ["s0::a", "s1::e"]);
        assert_eq!(names(1), ["s0::b", "s1::c", "s1::d"]);
    }

    #[test]
    fn never_more_vms_than_tests() {
        let shards = shard(&[case(0, "a")], 4, &Timings::default());
        assert_eq!(shards.len(), 1);
        assert_eq!(shard(&[], 3, &Timings::default()).len(), 1);
    }

    #[test]
    fn timings_survive_a_round_trip_through_the_cache() {
        let dir = std::env::temp_dir().join(format!("kernel-lab-timings-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("timings.txt");
        let mut timings = Timings::default();
        timings.record("s::x", 1.25);
        timings.save(&path).unwrap();
        let back = Timings::load(&path);
        assert_eq!(back.estimate("s::x"), 1.25);
        assert_eq!(back.estimate("s::unknown"), UNKNOWN_DURATION);
        // The repository's durations fill in what was not measured here.
        let (secs, id) = KNOWN_TIMINGS
            .lines()
            .next()
            .and_then(|l| l.split_once('\t'))
            .expect("a known duration");
        assert_eq!(back.estimate(id), secs.parse::<f64>().unwrap());
        fs::remove_dir_all(&dir).unwrap();
    }
}
