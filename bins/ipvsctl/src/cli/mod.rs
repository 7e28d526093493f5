//! ipvsadm's command line: the option table, the left-to-right processing of
//! options into one command entry, and every check ipvsadm 1.31 makes before it
//! talks to the kernel, with its exact texts and exit statuses.
//!
//! The command entry mirrors what ipvsadm fills in while it reads the options
//! (address family still unset, netmask as given, destination port copied from
//! the service port at the moment `-r` is read), because several of ipvsadm's
//! answers depend on that order. [`crate::request`] turns it into typed
//! `ipvs-proto` values afterwards.
//!
//! The layers, each a module (as ripgrep splits its flags):
//!
//! - `defs`: the option definitions: commands, options, their names, the
//!   command/option table and the word table;
//! - `lowargs`: the low level: one option word at a time into the entry,
//!   each value checked as it is read;
//! - `hiargs`: the high level: the typed entry ([`Invocation`] with
//!   [`Options`], [`Format`] and `ipvs-proto`'s types) and the checks of the
//!   whole line;
//! - `parse`: the driver ([`parse`], [`parse_into`]);
//! - `error`: [`CliError`], ipvsadm's text and status;
//! - [`popt`] and [`cnum`]: popt's option scanner and C's number and address
//!   readers, as ipvsadm links them.

pub mod cnum;
mod defs;
mod error;
mod hiargs;
mod lowargs;
mod parse;
pub mod popt;

pub use self::defs::{Command, MAX_INTERVAL, MIN_INTERVAL, Options};
pub use self::error::CliError;
pub use self::hiargs::{
    DaemonArgs, DestArgs, Extensions, Format, Invocation, SvcArgs, TimeoutArgs, fmt,
};
pub use self::parse::{Asked, Parsed, parse, parse_into};

#[cfg(test)]
mod tests {
    use super::defs::*;
    use super::hiargs::*;
    use super::*;

    fn run(line: &str) -> Result<Invocation, CliError> {
        let argv: Vec<String> = std::iter::once("ipvsadm")
            .chain(line.split_whitespace())
            .map(String::from)
            .collect();
        match parse(&argv, false)? {
            Parsed::Run(inv) => Ok(*inv),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn commands_are_numbered_in_table_order() {
        for (i, cmd) in Command::ALL.into_iter().enumerate() {
            assert_eq!(cmd.index(), i);
        }
        assert_eq!(Command::Zero.name(), "zero");
    }

    #[test]
    fn option_masks_agree_with_the_table_walk() {
        // Every single option and every pair, for every command: the fast
        // path passes exactly the sets the walk passes.
        for cmd in Command::ALL {
            for a in 0..OPT_COUNT {
                for b in a..OPT_COUNT {
                    let options = (1u64 << a) | (1u64 << b);
                    let row = COMMANDS_V_OPTIONS[cmd.index()];
                    let walk_ok = row.iter().enumerate().all(|(j, rule)| {
                        let given = options & (1u64 << j) != 0;
                        !matches!((given, rule), (false, b'+') | (true, b'x'))
                    }) && row
                        .iter()
                        .enumerate()
                        .filter(|(j, rule)| **rule == b'1' && options & (1u64 << j) != 0)
                        .count()
                        <= 1;
                    assert_eq!(
                        generic_opt_check(cmd, Options::from_bits_retain(options)).is_ok(),
                        walk_ok,
                        "{cmd:?} {a} {b}"
                    );
                }
            }
        }
    }

    #[test]
    fn add_service_defaults() {
        let inv = run("-A -t 10.0.0.1:80").unwrap();
        assert_eq!(inv.cmd, Command::Add);
        assert_eq!(inv.svc.sched_name, "wlc");
        assert_eq!(inv.svc.port, 80);
        assert_eq!(inv.svc.netmask, 0xffff_ffff);
        let inv = run("-A -t 10.0.0.1:80 -p").unwrap();
        assert_eq!(inv.svc.timeout, 360);
    }

    #[test]
    fn real_server_port_rules() {
        let inv = run("-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -g").unwrap();
        assert_eq!(inv.dest.port, 80, "-g forces the service port");
        let inv = run("-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m").unwrap();
        assert_eq!(inv.dest.port, 8080);
        let inv = run("-a -t 10.0.0.1:80 -r 10.0.0.2 -m").unwrap();
        assert_eq!(inv.dest.port, 80, "no port: copied from the service");
        let inv = run("-a -t 10.0.0.1:80 -r 10.0.0.2 -m -w 70000").unwrap();
        assert_eq!(inv.dest.weight, 70000);
    }

    #[test]
    fn ipv6_netmask_order_matters() {
        let inv = run("-A -t [2001:db8::1]:80 -p -M 64").unwrap();
        assert_eq!(inv.svc.netmask, 64);
        let err = run("-A -t [2001:db8::1]:80 -p -M 255.255.255.0").unwrap_err();
        assert_eq!(err.message, "illegal ipv6 netmask specified\n");
    }

    #[test]
    fn own_options_may_precede_the_command() {
        let inv = run("--netns blue --json -Ln").unwrap();
        assert_eq!(inv.ext.netns.as_deref(), Some("blue"));
        assert!(inv.ext.json);
        let err = run("--json -A -t 10.0.0.1:80").unwrap_err();
        assert_eq!(
            err.message,
            "Illegal 'json' option with the 'add-service' command\n"
        );
        assert_eq!(run("-L --watch 0.05").unwrap_err().status, 2);
        assert_eq!(run("-L --watch 2").unwrap().ext.watch, Some(2.0));
    }

    #[test]
    fn watch_intervals_are_capped_and_conflicts_named() {
        for huge in ["1e19", "1e20", "86401", "inf", "NaN"] {
            let err = run(&format!("-L --watch {huge}")).unwrap_err();
            assert_eq!(
                (err.status, err.message),
                (2, format!("invalid watch interval `{huge}' specified\n"))
            );
        }
        assert_eq!(run("-L --watch 86400").unwrap().ext.watch, Some(86400.0));
        let inv = run("-Ln --json --watch 1 -t 10.0.0.1:80").unwrap();
        assert!(inv.ext.json && inv.ext.watch == Some(1.0));
        assert!(run("--json --watch -Lnc").is_ok());
        assert_eq!(
            run("-L --timeout --watch").unwrap_err().message,
            "Illegal 'watch' option with the 'timeout' option of the 'list' command\n"
        );
        assert_eq!(
            run("-L --daemon --json --watch 2").unwrap_err().message,
            "Illegal 'watch' option with the 'daemon' option of the 'list' command\n"
        );
        assert_eq!(
            run("-Z --watch").unwrap_err().message,
            "Illegal 'watch' option with the 'zero' command\n"
        );
    }

    #[test]
    fn bracketed_ipv4_loses_its_port() {
        let err = run("-A -t [10.0.0.1]:80").unwrap_err();
        assert_eq!(
            err.message,
            "Zero port specified for non-persistent service\n"
        );
    }
}
