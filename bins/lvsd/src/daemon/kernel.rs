//! The kernel's table through ipvs-proto: read it whole, apply a plan in one
//! pipelined batch.

use anyhow::Context as _;
use ipvs_proto::{Client, Request};
use lvs_director::diff::{Change, TableService};

/// Every service with its destinations (counters and connections included).
pub fn read_table(client: &mut Client) -> anyhow::Result<Vec<TableService>> {
    let services = client.services().context("listing the IPVS services")?;
    let mut table = Vec::with_capacity(services.len());
    for service in services {
        let destinations = match client.destinations(&service.key) {
            Ok(d) => d,
            // Deleted by someone else between the two dumps.
            Err(e) if e.kernel().is_some_and(|k| k.is_no_service()) => continue,
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("listing the real servers of {}", service.key));
            }
        };
        table.push(TableService {
            service,
            destinations,
        });
    }
    Ok(table)
}

/// Sends every change in one batch; returns each change with its error, if any.
pub fn apply(
    client: &mut Client,
    changes: &[Change],
) -> anyhow::Result<Vec<(Change, Option<String>)>> {
    if changes.is_empty() {
        return Ok(Vec::new());
    }
    let requests: Vec<Request> = changes.iter().map(Change::to_request).collect();
    let results = client.batch(&requests).context("sending the changes")?;
    Ok(changes
        .iter()
        .cloned()
        .zip(results)
        .map(|(change, result)| (change, result.err().map(|e| e.to_string())))
        .collect())
}
