//! Prints what a serial device sends, line by line, through a plain
//! `BufReader`: the port blocks until data comes, so idle time never ends the
//! loop; `--timeout MS` gives up after that long without data.
//!
//! ```text
//! cargo run -p tty --example read -- /dev/ttyUSB0 9600 [--timeout 5000]
//! ```
use std::io::{BufRead, BufReader, ErrorKind};
use std::process::ExitCode;
use std::time::Duration;

use tty::{SerialPort, Settings};

fn read(
    path: &str,
    baud: u32,
    timeout: Option<Duration>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut port = SerialPort::open(
        path,
        &Settings {
            baud,
            ..Settings::default()
        },
    )?;
    port.set_timeout(timeout);
    for line in BufReader::new(port).lines() {
        match line {
            Ok(line) => println!("{}", line.trim_end_matches('\r')),
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                eprintln!("read: {e}");
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, baud, timeout) = match args.as_slice() {
        [path, baud] => (path, baud, None),
        [path, baud, flag, ms] if flag == "--timeout" => (path, baud, Some(ms)),
        _ => {
            eprintln!("usage: read DEVICE SPEED [--timeout MS]");
            return ExitCode::from(2);
        }
    };
    let Ok(baud) = baud.parse::<u32>() else {
        eprintln!("read: the speed must be a whole number of bits per second, not {baud:?}");
        return ExitCode::from(2);
    };
    let timeout = match timeout.map(|ms| ms.parse::<u64>()) {
        None => None,
        Some(Ok(ms)) => Some(Duration::from_millis(ms)),
        Some(Err(_)) => {
            eprintln!("read: --timeout takes a whole number of milliseconds");
            return ExitCode::from(2);
        }
    };
    match read(path, baud, timeout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("read: {e}");
            ExitCode::FAILURE
        }
    }
}
