//! Bridges this terminal to a serial port until the port hangs up or stdin
//! ends, as the README shows (raw bytes both ways, nothing translated):
//!
//! ```text
//! cargo run -p tty --example bridge -- /dev/ttyUSB0 115200
//! ```
use std::os::fd::AsFd;
use std::process::ExitCode;

use tty::{Bridge, PassThrough, SerialPort, Settings};

fn bridge(path: &str, baud: u32) -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings {
        baud,
        ..Settings::default()
    };
    let port = SerialPort::open(path, &settings)?;
    let stdin = std::io::stdin();
    let stdout = std::io::stdout();
    let ending = Bridge::new(&port, stdout.as_fd())
        .input(stdin.as_fd())
        .run(&mut PassThrough)?;
    eprintln!("bridge: {ending:?}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (path, baud) = match args.as_slice() {
        [path] => (path.as_str(), Ok(9600)),
        [path, baud] => (path.as_str(), baud.parse::<u32>()),
        _ => {
            eprintln!("usage: bridge DEVICE [SPEED]");
            return ExitCode::from(2);
        }
    };
    let Ok(baud) = baud else {
        eprintln!("bridge: the speed must be a whole number of bits per second");
        return ExitCode::from(2);
    };
    match bridge(path, baud) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bridge: {e}");
            ExitCode::FAILURE
        }
    }
}
