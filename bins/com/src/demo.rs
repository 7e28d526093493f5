//! A simulated HPM-100A on a pseudo-terminal: `com --demo` and `com simulate`.
//!
//! The simulator holds the pty master and writes a frame about once a second,
//! paced at 9600 baud (8N1: 960 bytes/s), with values that drift the way a
//! loaded mains circuit does. The frames are built with `hpm-frame`, so they have
//! exactly the shape of the samples:
//! `S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E`
//! then CR LF.
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hpm_frame::{Frame, decode::TableRule, field::Label};

use crate::cli::{LineEnding, SimArgs};

/// Bytes per second at 9600 baud, 8N1 (10 bits per byte).
const BYTES_PER_SECOND: f64 = 960.0;

/// The meter's state: a random walk around a plausible operating point.
#[derive(Debug, Clone)]
pub struct Meter {
    rng: u64,
    volts: f64,
    amps: f64,
    power_factor: f64,
    hertz: f64,
    kwh: f64,
}

impl Meter {
    /// A meter starting near the seed's first sample (216.9 V, 42.41 A, PF 0.505).
    pub fn new(seed: u64) -> Meter {
        Meter {
            rng: seed | 1,
            volts: 216.9,
            amps: 42.4145,
            power_factor: 0.505,
            hertz: 59.98,
            kwh: 0.002,
        }
    }

    /// A uniform number in [-1, 1) (xorshift64*).
    fn noise(&mut self) -> f64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let x = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (x >> 11) as f64 / (1u64 << 52) as f64 - 1.0
    }

    /// Advances the state by `seconds`: small steps, pulled back to the
    /// operating point, energy accumulating with power.
    pub fn step(&mut self, seconds: f64) {
        let n = self.noise();
        self.volts = (self.volts + 0.3 * n + 0.05 * (218.0 - self.volts)).clamp(200.0, 240.0);
        let n = self.noise();
        self.amps = (self.amps + 0.4 * n + 0.02 * (40.0 - self.amps)).clamp(0.1, 99.0);
        let n = self.noise();
        self.power_factor =
            (self.power_factor + 0.004 * n + 0.05 * (0.55 - self.power_factor)).clamp(0.3, 1.0);
        let n = self.noise();
        self.hertz = (self.hertz + 0.01 * n + 0.1 * (60.0 - self.hertz)).clamp(59.8, 60.2);
        self.kwh += self.kilowatts() * seconds / 3600.0;
    }

    /// Real power in kW.
    pub fn kilowatts(&self) -> f64 {
        self.volts * self.amps * self.power_factor / 1000.0
    }

    /// The frame for the current state, its digits written by the meter's
    /// rule (`hpm-frame`'s encoder).
    pub fn frame(&self) -> Frame {
        let rule = TableRule::inferred();
        let values = [
            (Label::Vo, self.volts),
            (Label::Am, self.amps),
            (Label::Wa, self.kilowatts()),
            (Label::Wh, self.kwh),
            (Label::Pf, self.power_factor),
            (Label::Hz, self.hertz),
            (Label::Kg, 0.0),
            (Label::Eu, 0.0),
        ];
        Frame::new(values.iter().map(|&(label, value)| {
            // The state is clamped to ranges every field can show.
            rule.encode(label, value)
                .expect("a value in the meter's range")
        }))
        .expect("eight fields")
    }

    /// The frame as the meter sends it: the live form, CR, LF.
    #[cfg(test)]
    pub fn frame_bytes(&self) -> Vec<u8> {
        self.frame_bytes_ending(LineEnding::Crlf)
    }

    /// The frame in the live form and the given line end.
    pub fn frame_bytes_ending(&self, ending: LineEnding) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        self.frame().write_live(&mut out);
        out.extend_from_slice(match ending {
            LineEnding::Cr => b"\r",
            LineEnding::Crlf => b"\r\n",
        });
        out
    }
}

/// Line noise: each byte, with probability `rate`, dropped, preceded by a
/// random byte, or replaced by one (equal shares). Seeded: the same seed damages
/// the same way.
#[derive(Debug, Clone)]
pub struct Noise {
    rng: u64,
    rate: f64,
}

impl Noise {
    pub fn new(rate: f64, seed: u64) -> Noise {
        Noise {
            rng: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            rate,
        }
    }

    fn next(&mut self) -> u64 {
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A uniform number in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// `bytes` as they arrive over a noisy line.
    pub fn apply(&mut self, bytes: &[u8]) -> Vec<u8> {
        if self.rate <= 0.0 {
            return bytes.to_vec();
        }
        let mut out = Vec::with_capacity(bytes.len() + 4);
        for &b in bytes {
            if self.unit() >= self.rate {
                out.push(b);
                continue;
            }
            match self.next() % 3 {
                0 => {}
                1 => {
                    out.push(self.next() as u8);
                    out.push(b);
                }
                _ => out.push(self.next() as u8),
            }
        }
        out
    }
}

/// A running simulated meter.
#[derive(Debug)]
pub struct Simulator {
    master: File,
    // Kept open so the pty stays up while no one else has the slave open.
    _slave: OwnedFd,
    path: PathBuf,
}

impl Simulator {
    /// Creates the pty pair, the slave raw at 9600 8N1 like a real port.
    pub fn new() -> anyhow::Result<Simulator> {
        let pair = nix::pty::openpty(None, None).context("creating a pseudo-terminal")?;
        let path = nix::unistd::ttyname(&pair.slave).context("naming the pseudo-terminal")?;
        let mut tio = termios_of(&pair.slave)?;
        nix::sys::termios::cfmakeraw(&mut tio);
        nix::sys::termios::cfsetspeed(&mut tio, nix::sys::termios::BaudRate::B9600)
            .context("setting the simulated line speed")?;
        nix::sys::termios::tcsetattr(&pair.slave, nix::sys::termios::SetArg::TCSANOW, &tio)
            .context("setting the simulated line")?;
        tty::NonBlocking::set(pair.master.as_fd())
            .context("pty master")?
            .keep();
        Ok(Simulator {
            master: File::from(pair.master),
            _slave: pair.slave,
            path,
        })
    }

    /// The device path to open.
    pub fn path(&self) -> &PathBuf {
        &self.path
    }

    /// Sends frames every `interval` until `stop` is set or `count` frames went.
    /// Input from the other side is read and ignored, as the meter does. A frame
    /// that does not fit (nobody reading) is dropped, as a UART would.
    pub fn run(
        &self,
        interval: Duration,
        count: Option<u64>,
        stop: &AtomicBool,
        sim: SimArgs,
    ) -> io::Result<()> {
        let seed = sim.seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
        let mut meter = Meter::new(seed);
        let mut noise = Noise::new(sim.noise, seed);
        let mut sent = 0u64;
        let mut next = Instant::now();
        let chunk = 8usize;
        let per_chunk = Duration::from_secs_f64(chunk as f64 / BYTES_PER_SECOND);
        while !stop.load(Ordering::SeqCst) && count.is_none_or(|n| sent < n) {
            let frame = noise.apply(&meter.frame_bytes_ending(sim.line_ending));
            'frame: for piece in frame.chunks(chunk) {
                let mut piece = piece;
                while !piece.is_empty() {
                    match tty::fdio::write(self.master.as_fd(), piece) {
                        Ok(n) => piece = &piece[n..],
                        Err(err) if err.kind() == io::ErrorKind::WouldBlock => break 'frame,
                        // The other side closed for good.
                        Err(err) if err.raw_os_error() == Some(libc::EIO) => return Ok(()),
                        Err(err) => return Err(err),
                    }
                }
                std::thread::sleep(per_chunk);
            }
            self.discard_input()?;
            sent += 1;
            next += interval;
            meter.step(interval.as_secs_f64());
            let now = Instant::now();
            if next > now {
                sleep_unless_stopped(next - now, stop);
            } else {
                next = now;
            }
        }
        Ok(())
    }

    fn discard_input(&self) -> io::Result<()> {
        let mut buf = [0u8; 1024];
        loop {
            match tty::fdio::read(self.master.as_fd(), &mut buf) {
                Ok(0) => return Ok(()),
                Ok(_) => continue,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                // EIO: no one has the slave open right now; fine.
                Err(err) if err.raw_os_error() == Some(libc::EIO) => return Ok(()),
                Err(err) => return Err(err),
            }
        }
    }
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let until = Instant::now() + total;
    while !stop.load(Ordering::SeqCst) {
        let now = Instant::now();
        if now >= until {
            return;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(100)));
    }
}

fn termios_of(fd: &OwnedFd) -> anyhow::Result<nix::sys::termios::Termios> {
    nix::sys::termios::tcgetattr(fd).with_context(|| format!("reading pty {}", fd.as_raw_fd()))
}

/// Starts a simulator on a thread; returns its device path and a stop flag.
pub fn spawn(
    interval: Duration,
    sim: SimArgs,
) -> anyhow::Result<(
    PathBuf,
    Arc<AtomicBool>,
    std::thread::JoinHandle<io::Result<()>>,
)> {
    let simulator = Simulator::new()?;
    let path = simulator.path().clone();
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = std::thread::Builder::new()
        .name("hpm-100a".into())
        .spawn(move || simulator.run(interval, None, &flag, sim))
        .context("starting the simulated meter")?;
    Ok((path, stop, handle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_frame_is_the_seed_sample() {
        let meter = Meter::new(7);
        let frame = String::from_utf8(meter.frame_bytes()).unwrap();
        assert_eq!(
            frame,
            "S:  21693Vo:  42412Am:  46461Wa:     21Wh:   5051Pf:  59981Hz:     01Kg:     01Eu  E\r\n"
        );
    }

    #[test]
    fn noise_damages_at_its_rate_and_the_same_seed_the_same_way() {
        let meter = Meter::new(7);
        let cr = meter.frame_bytes_ending(LineEnding::Cr);
        assert!(cr.ends_with(b"  E\r"));
        assert_eq!(Noise::new(0.0, 1).apply(&cr), cr);
        let clean: Vec<u8> = (0..100).flat_map(|_| cr.clone()).collect();
        let a = Noise::new(0.01, 5).apply(&clean);
        assert_eq!(a, Noise::new(0.01, 5).apply(&clean));
        assert_ne!(a, Noise::new(0.01, 6).apply(&clean));
        let changed = a.iter().zip(&clean).take_while(|(x, y)| x == y).count();
        assert!(changed < clean.len(), "some damage");
        // About 1 % of 8,500 bytes: drops and insertions move the length a little.
        let diff = (a.len() as i64 - clean.len() as i64).abs();
        assert!(diff < 60, "{diff}");
    }

    #[test]
    fn values_drift_plausibly_and_frames_parse() {
        let mut meter = Meter::new(42);
        let first = meter.frame_bytes();
        let mut last_kwh = meter.kwh;
        for _ in 0..3600 {
            meter.step(1.0);
            assert!((200.0..=240.0).contains(&meter.volts));
            assert!((0.3..=1.0).contains(&meter.power_factor));
            assert!(meter.kwh >= last_kwh);
            last_kwh = meter.kwh;
            let bytes = meter.frame_bytes();
            let frame = Frame::parse(&bytes[..bytes.len() - 2]).unwrap();
            assert_eq!(frame.fields().len(), 8);
        }
        assert_ne!(meter.frame_bytes(), first);
        // About an hour at a few kW: a few kWh.
        assert!((0.5..50.0).contains(&meter.kwh), "{}", meter.kwh);
    }
}
