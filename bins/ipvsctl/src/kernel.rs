//! Kernel access: entering a network namespace, opening the IPVS client as
//! ipvsadm's `ipvs_init` does, reading the table and sending batches.
//!
//! Errors come back as [`Failure`]s with ipvsadm's texts and statuses.

use ipvs_proto::{Client, Error, Info, Request, Service};

use crate::failure::{self, Failure, KERNEL_FAILURE, USAGE_FAILURE};
use crate::format::Entry;

/// Moves the whole process into network namespace `name` (`/run/netns/NAME`),
/// so its sockets and `/proc/net` are the namespace's.
pub fn enter_netns(name: &str) -> anyhow::Result<()> {
    let path = ipvs_proto::NetNs::named_path(name)
        .map_err(|e| Failure::new(USAGE_FAILURE, format!("ipvsctl: {e}")))?;
    let file = std::fs::File::open(&path).map_err(|e| {
        Failure::new(
            USAGE_FAILURE,
            format!("ipvsctl: network namespace {name}: {}: {e}", path.display()),
        )
    })?;
    nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
        Failure::new(
            USAGE_FAILURE,
            format!("ipvsctl: cannot enter network namespace {name}: {e}"),
        )
    })?;
    Ok(())
}

/// ipvsadm's `ipvs_init`: a socket, the family, and the IPVS info; loads the
/// module once (as ipvsadm does) when the family is missing.
pub fn init() -> anyhow::Result<(Client, Info)> {
    let connect = || -> Result<(Client, Info), Error> {
        let mut client = Client::connect()?;
        let info = client.info()?;
        Ok((client, info))
    };
    let first = connect();
    let result = match first {
        Err(Error::FamilyNotFound) if modprobe_ipvs() => connect(),
        other => other,
    };
    result.map_err(|e| {
        Failure::new(
            USAGE_FAILURE,
            format!("Can't initialize ipvs: {}", failure::error_text(&e)),
        )
        .into()
    })
}

fn modprobe_ipvs() -> bool {
    std::process::Command::new("/sbin/modprobe")
        .args(["--", "ip_vs"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Every service with its destinations, in the kernel's order.
pub fn table(client: &mut Client) -> Result<Vec<Entry>, Error> {
    let services = client.services()?;
    let mut entries = Vec::with_capacity(services.len());
    for service in services {
        let dests = client.destinations(&service.key)?;
        entries.push(Entry { service, dests });
    }
    Ok(entries)
}

/// One service (`-L -t ...`) with its destinations.
pub fn one_entry(client: &mut Client, key: &ipvs_proto::ServiceKey) -> Result<Entry, Error> {
    let service: Service = client.service(key)?;
    let dests = client.destinations(&service.key)?;
    Ok(Entry { service, dests })
}

/// Sends a batch and returns each request's outcome as ipvsadm's text.
///
/// A daemon request that the kernel leaves unanswered (stopping a sync
/// thread that has not run yet) counts as done: `Client::batch` follows it
/// with a request that is always answered, so the batch never waits for it.
pub fn batch_errors(
    client: &mut Client,
    requests: &[Request],
) -> anyhow::Result<Vec<Option<String>>> {
    let results = client
        .batch(requests)
        .map_err(|e| Failure::new(KERNEL_FAILURE, failure::error_text(&e)))?;
    Ok(results
        .into_iter()
        .map(|r| r.err().map(|e| e.message()))
        .collect())
}
