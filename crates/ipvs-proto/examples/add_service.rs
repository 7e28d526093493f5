//! Adds a TCP virtual service, as `ipvsadm -A -t VIP -s SCHED [-p SECONDS]`
//! does (needs IPVS and CAP_NET_ADMIN):
//!
//! ```text
//! sudo cargo run -p ipvs-proto --example add_service -- 10.0.0.1:80 wrr 300
//! ```
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use ipvs_proto::{Client, Error, Service, ServiceKey};

fn add(vip: SocketAddr, scheduler: &str, persistence: Option<u64>) -> Result<(), Error> {
    let mut service = Service::new(ServiceKey::tcp(vip), scheduler);
    if let Some(seconds) = persistence {
        service = service.with_persistence(Duration::from_secs(seconds));
    }
    let mut client = Client::connect()?;
    // A refusal reads as ipvsadm words it: "Service already exists", ...
    client.add_service(&service)?;
    println!("added {} ({})", service.key, service.scheduler);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let vip = args.first().and_then(|a| a.parse().ok());
    let scheduler = args.get(1).map_or("wlc", String::as_str);
    let persistence = args.get(2).map(|a| a.parse::<u64>());
    let (Some(vip), None | Some(Ok(_))) = (vip, &persistence) else {
        eprintln!("usage: add_service VIP:PORT [SCHEDULER [PERSISTENCE_SECONDS]]");
        return ExitCode::from(2);
    };
    match add(vip, scheduler, persistence.and_then(Result::ok)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("add_service: {e}");
            ExitCode::FAILURE
        }
    }
}
