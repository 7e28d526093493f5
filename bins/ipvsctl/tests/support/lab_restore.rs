//! The restore input of the kernel lab's timed comparison: 1,000 services ×
//! 10 destinations, 11,000 lines. Shared by the lab test
//! (`tests/kernel.rs`) and the parse benchmark (`benches/benches/ipvsctl_restore.rs`),
//! so both time the same text.

/// The 11,000 lines, each ending with a newline.
pub fn lab_restore_input() -> String {
    let mut input = String::new();
    for s in 0..1000u32 {
        let vip = format!("10.{}.{}.1:80", 10 + s / 250, s % 250);
        input.push_str(&format!("-A -t {vip} -s rr\n"));
        for d in 0..10u32 {
            input.push_str(&format!(
                "-a -t {vip} -r 172.16.{}.{}:80 -m -w 1\n",
                s % 250,
                1 + d
            ));
        }
    }
    input
}
