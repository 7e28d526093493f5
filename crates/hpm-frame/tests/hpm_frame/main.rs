//! Integration tests of hpm-frame: one test binary, data files in `tests/data/`.
//!
//! Golden files (`tests/data/*.expected`, `*.csv`, `*.jsonl`, `*.influx`) hold the
//! expected output; after a deliberate change, check the difference and rewrite
//! them with `HPM_BLESS=1 cargo test -p hpm-frame`.

mod decode;
mod fast;
mod grammar;
mod log;
mod output;
mod props;
mod roundtrip;
mod stream;
mod strict;

use std::path::PathBuf;

use hpm_frame::Frame;

fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A data file's bytes.
pub fn data(name: &str) -> Vec<u8> {
    let path = data_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Compares `actual` with the golden file `name` (or rewrites it under HPM_BLESS).
pub fn golden(name: &str, actual: &str) {
    let path = data_path(name);
    if std::env::var_os("HPM_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading golden file {}: {e}", path.display()));
    assert!(
        actual == expected,
        "output differs from golden file {}\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// The four live frames of the seed samples, as the meter sent them.
pub const SEED: [&str; 4] = [
    "S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E",
    "S:  21693Vo:  42422Am:  46481Wa:     31Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E",
    "S:  21693Vo:  42422Am:  46481Wa:     31Wh:   5051Pf:  59971Hz:     01Kg:     01Eu  E",
    "S:  21693Vo:  42432Am:  46461Wa:     41Wh:   5041Pf:  59971Hz:     01Kg:     01Eu  E",
];

/// The seed frames, parsed.
pub fn seed_frames() -> Vec<Frame> {
    SEED.iter()
        .map(|s| Frame::parse(s.as_bytes()).unwrap())
        .collect()
}
