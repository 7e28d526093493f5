//! The notebook's DR cluster (VIP 123.234.1.101, director 123.234.1.102, real
//! server 123.234.1.111) planned against hand-written host states: prints what
//! `lvsd setup --dry-run` and `lvs-agent setup --dry-run` would print on such
//! hosts, without touching this machine.
//!
//! `cargo run -p lvs-net --example notebook_dr`
use lvs_net::{Address, Link, Mode, Params, Plan, SystemState, sysctl_keys};

/// A freshly installed host: `lo` and `dev` up, one address, every sysctl the
/// plan reads at the kernel's default 0.
fn host(params: &Params, dev: &str, addr: &str) -> SystemState {
    SystemState {
        sysctls: sysctl_keys(params)
            .into_iter()
            .map(|key| (key, "0".to_owned()))
            .collect(),
        links: vec![
            Link {
                index: 1,
                name: "lo".into(),
                up: true,
            },
            Link {
                index: 2,
                name: dev.into(),
                up: true,
            },
        ],
        addresses: vec![Address {
            index: 2,
            addr: addr.parse().expect("an address"),
            prefix: 24,
            label: Some(dev.into()),
        }],
        ..SystemState::default()
    }
}

fn main() -> Result<(), lvs_net::Error> {
    let vip = "123.234.1.101".parse()?;
    let params = Params::director(Mode::Dr, vec![vip], None);
    let director = Plan::compute(&params, &host(&params, "eth0", "123.234.1.102"))?;
    let params = Params::real_server(Mode::Dr, vec![vip], None);
    let real_server = Plan::compute(&params, &host(&params, "eth0", "123.234.1.111"))?;
    println!("## director (lvsd setup --mode dr --vip 123.234.1.101 --dry-run)");
    print!("{}", director.commands());
    println!("## real server (lvs-agent setup --mode dr --vip 123.234.1.101 --dry-run)");
    print!("{}", real_server.commands());
    println!("## what --check says on that real server before set-up");
    for line in real_server.differences() {
        println!("{line}");
    }
    Ok(())
}
