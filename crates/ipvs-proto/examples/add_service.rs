//! Adds a TCP virtual service with two NAT real servers in one pipelined batch,
//! as `ipvsadm -A -t VIP -s wrr; ipvsadm -a -t VIP -r RS -m -w W` would:
//!
//! ```text
//! sudo cargo run -p ipvs-proto --example add_service -- 10.0.0.1:80 10.0.1.2:80 10.0.1.3:80
//! ```
use std::net::SocketAddr;
use std::process::ExitCode;

use ipvs_proto::{Client, Destination, Forwarding, Request, Service, ServiceKey};

fn add(vip: SocketAddr, reals: &[SocketAddr]) -> Result<(), Box<dyn std::error::Error>> {
    let key = ServiceKey::tcp(vip);
    let mut requests = vec![Request::add_service(&Service::new(key, "wrr"))];
    for real in reals {
        requests.push(Request::add_destination(
            &key,
            &Destination::new(*real, Forwarding::Masq, 1),
        ));
    }
    let mut client = Client::connect()?;
    // One result per request, in order: the kernel's answer to each.
    for (request, result) in requests.iter().zip(client.batch(&requests)?) {
        if let Err(error) = result {
            return Err(format!("{:?}: {error}", request.command()).into());
        }
    }
    println!("{key}: {} real server(s)", reals.len());
    Ok(())
}

fn main() -> ExitCode {
    let addrs: Result<Vec<SocketAddr>, _> = std::env::args().skip(1).map(|a| a.parse()).collect();
    let addrs = match addrs {
        Ok(addrs) if addrs.len() >= 2 => addrs,
        _ => {
            eprintln!("usage: add_service VIP:PORT REAL:PORT [REAL:PORT...]");
            return ExitCode::from(2);
        }
    };
    match add(addrs[0], &addrs[1..]) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("add_service: {e}");
            ExitCode::FAILURE
        }
    }
}
