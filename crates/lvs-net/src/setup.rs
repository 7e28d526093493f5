//! The `setup` subcommand shared by `lvsd` (director) and `lvs-agent` (real
//! server): one action on one host, and the text it prints.
use std::fmt::Write as _;

use crate::error::Result;
use crate::journal::{Change, StateFile};
use crate::params::Params;
use crate::plan::Plan;
use crate::system::System;

/// What `setup` is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Make the settings (the default).
    Apply,
    /// Print the plan, change nothing (`--dry-run`).
    DryRun,
    /// Compare the system with the plan (`--check`).
    Check,
    /// Reverse what earlier applies changed (`--undo`).
    Undo,
}

/// What an action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The plan, nothing changed.
    DryRun(Plan),
    /// The plan and the changes made (none when everything was in place).
    Applied {
        /// The plan the changes came from.
        plan: Plan,
        /// What was changed.
        changes: Vec<Change>,
    },
    /// The plan compared with the system.
    Checked(Plan),
    /// The changes reversed, newest first.
    Undone(Vec<Change>),
}

impl Outcome {
    /// Whether the tool exits 0 (`--check` with differences is the only
    /// unsuccessful outcome).
    pub fn success(&self) -> bool {
        match self {
            Outcome::Checked(plan) => plan.is_in_place(),
            _ => true,
        }
    }

    /// The text the tool prints, `tool` naming it (`lvsd`, `lvs-agent`).
    pub fn report(&self, tool: &str, state: &StateFile) -> String {
        let mut out = String::new();
        match self {
            Outcome::DryRun(plan) => out.push_str(&plan.commands()),
            Outcome::Applied { plan, changes } => {
                let in_place = plan.items.len() - changes.len();
                if changes.is_empty() {
                    let _ = writeln!(
                        out,
                        "{tool}: nothing to do: all {in_place} settings already in place"
                    );
                } else {
                    for change in changes {
                        let _ = writeln!(out, "{change}");
                    }
                    let _ = writeln!(
                        out,
                        "{tool}: {} change(s) made, {in_place} already in place; recorded in {} (`{tool} setup --undo` reverses them)",
                        changes.len(),
                        state.path().display()
                    );
                }
            }
            Outcome::Checked(plan) => {
                let differences = plan.differences();
                if differences.is_empty() {
                    let _ = writeln!(out, "{tool}: all {} settings in place", plan.items.len());
                }
                for line in differences {
                    let _ = writeln!(out, "{line}");
                }
            }
            Outcome::Undone(changes) => {
                if changes.is_empty() {
                    let _ = writeln!(
                        out,
                        "{tool}: nothing to undo ({} does not exist)",
                        state.path().display()
                    );
                } else {
                    for change in changes {
                        for command in change.undo_commands() {
                            let _ = writeln!(out, "{command}");
                        }
                    }
                    let _ = writeln!(
                        out,
                        "{tool}: {} change(s) undone from {}",
                        changes.len(),
                        state.path().display()
                    );
                }
            }
        }
        out
    }
}

/// Runs `action` for `params` on the calling thread's network namespace, with
/// `state` as the record of changes. `params` is not used by [`Action::Undo`]:
/// the state file says what to reverse.
pub fn run(params: &Params, action: Action, state: &StateFile) -> Result<Outcome> {
    if action != Action::Undo {
        params.validate()?;
    }
    let mut system = System::open()?;
    if action == Action::Undo {
        return system.undo(state).map(Outcome::Undone);
    }
    let plan = system.plan(params)?;
    match action {
        Action::DryRun => {
            if let Some(conflict) = plan.conflict() {
                return Err(conflict);
            }
            Ok(Outcome::DryRun(plan))
        }
        Action::Check => Ok(Outcome::Checked(plan)),
        Action::Apply | Action::Undo => {
            let changes = system.apply(&plan, state)?;
            Ok(Outcome::Applied { plan, changes })
        }
    }
}
