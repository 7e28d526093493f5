//! Lists every virtual service with its real servers and counters, as
//! `ipvsadm -Ln --stats` shows them (needs IPVS and CAP_NET_ADMIN):
//!
//! ```text
//! sudo cargo run -p ipvs-proto --example list
//! ```
use std::process::ExitCode;

use ipvs_proto::{Client, Error};

fn list() -> Result<(), Error> {
    let mut client = Client::connect()?;
    let info = client.info()?;
    println!(
        "IPVS {} (connection table {} entries)",
        info.version, info.connection_table_size
    );
    for service in client.services()? {
        let stats = service.stats.unwrap_or_default();
        println!(
            "{} {} conns={} pkts_in={} pkts_out={} in={}B out={}B",
            service.key,
            service.scheduler,
            stats.connections,
            stats.packets_in,
            stats.packets_out,
            stats.bytes_in,
            stats.bytes_out
        );
        for dest in client.destinations(&service.key)? {
            let conns = dest.connections.unwrap_or_default();
            let stats = dest.stats.unwrap_or_default();
            println!(
                "  -> {} {} weight {} active {} inactive {} conns={} in={}B out={}B",
                dest.socket_addr(),
                dest.forwarding,
                dest.weight,
                conns.active,
                conns.inactive,
                stats.connections,
                stats.bytes_in,
                stats.bytes_out
            );
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match list() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("list: {e}");
            ExitCode::FAILURE
        }
    }
}
