//! Adds a real server to a TCP virtual service, as
//! `ipvsadm -a -t VIP -r REAL -m|-g|-i -w WEIGHT` does (needs IPVS and
//! CAP_NET_ADMIN):
//!
//! ```text
//! sudo cargo run -p ipvs-proto --example add_destination -- 10.0.0.1:80 10.0.1.2:80 masq 3
//! ```
use std::net::SocketAddr;
use std::process::ExitCode;

use ipvs_proto::{Client, Destination, Error, Forwarding, ServiceKey};

fn add(
    vip: SocketAddr,
    real: SocketAddr,
    forwarding: Forwarding,
    weight: u32,
) -> Result<(), Error> {
    let key = ServiceKey::tcp(vip);
    let destination = Destination::new(real, forwarding, weight);
    let mut client = Client::connect()?;
    // "Service not defined" when VIP has no service, as ipvsadm says it.
    client.add_destination(&key, &destination)?;
    println!("{key}: added {real} ({forwarding}, weight {weight})");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let forwarding = match args.get(2).map_or("masq", String::as_str) {
        "masq" => Some(Forwarding::Masq),
        "route" => Some(Forwarding::DirectRoute),
        "tunnel" => Some(Forwarding::Tunnel),
        _ => None,
    };
    let vip = args.first().and_then(|a| a.parse().ok());
    let real = args.get(1).and_then(|a| a.parse().ok());
    let weight = args.get(3).map_or(Some(1), |a| a.parse().ok());
    let (Some(vip), Some(real), Some(forwarding), Some(weight)) = (vip, real, forwarding, weight)
    else {
        eprintln!("usage: add_destination VIP:PORT REAL:PORT [masq|route|tunnel [WEIGHT]]");
        return ExitCode::from(2);
    };
    match add(vip, real, forwarding, weight) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("add_destination: {e}");
            ExitCode::FAILURE
        }
    }
}
