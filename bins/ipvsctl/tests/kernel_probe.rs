#[test]
#[ignore = "needs an IPVS kernel: cargo xtask kernel-lab"]
fn bin_exists() {
    let p = env!("CARGO_BIN_EXE_ipvsctl");
    eprintln!("{p}");
    assert!(std::path::Path::new(p).is_file(), "{p}");
    let out = std::process::Command::new(p).arg("-v").output().unwrap();
    eprintln!("{:?}", out);
}
