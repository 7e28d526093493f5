//! A session: open the port, bridge it with the terminal or pipes, log, decode,
//! reconnect.
use std::io::{self, IsTerminal};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use tty::{
    Bridge, Control, Ending, ExitSignals, Flow, Hooks, OpenMode, RawTerminal, SerialPort, Settings,
};

use crate::decode::{LiveRecords, Tally};
use crate::exit::Exit;
use crate::keys::{Action, KeyMap, KeyReader};
use crate::log::Log;

/// Everything a session needs, resolved from the command line.
#[derive(Debug)]
pub struct Config {
    pub device: PathBuf,
    pub settings: Settings,
    pub mode: OpenMode,
    pub keys: KeyMap,
    pub reconnect: bool,
    pub no_input: bool,
    pub linger: Duration,
    pub quiet: bool,
    /// Print "setting speed N" as com.c did when a speed was given.
    pub speed_given: bool,
}

/// Whether the terminal's cursor may be in the middle of a line of the shown
/// stream (the last byte shown was not LF): a message then starts with a line
/// end of its own, and so does the shell's prompt after `com` exits.
static MID_LINE: AtomicBool = AtomicBool::new(false);

/// Records what the last bytes shown on a terminal left the cursor at.
fn shown(data: &[u8]) {
    if let Some(&last) = data.last() {
        MID_LINE.store(last != b'\n', Ordering::Relaxed);
    }
}

/// A line end first if the cursor is inside a line of the stream.
fn fresh_line() -> &'static str {
    if MID_LINE.swap(false, Ordering::Relaxed) {
        "\r\n"
    } else {
        ""
    }
}

/// Prints status lines to stderr; in raw mode a line ends in CR LF.
#[derive(Debug, Clone, Copy)]
pub struct Say {
    pub raw: bool,
    pub quiet: bool,
}

impl Say {
    /// A message that `--quiet` silences.
    pub fn info(self, msg: &str) {
        if !self.quiet {
            self.always(msg);
        }
    }

    /// A message that is always printed.
    pub fn always(self, msg: &str) {
        let end = if self.raw { "\r\n" } else { "\n" };
        to_stderr(format!("{}com: {msg}{end}", fresh_line()).as_bytes());
    }
}

/// Writes a message to stderr, waiting (not failing) if the terminal's
/// descriptor was made non-blocking by the session: in interactive mode stdin,
/// stdout and stderr usually share one open file.
fn to_stderr(text: &[u8]) {
    let _ = tty::fdio::write_all(io::stderr().as_fd(), text);
}

/// The session's hooks: escape keys on the way in; log, records and the raw
/// stream on the way out.
pub struct ComHooks {
    pub log: Option<Log>,
    pub records: Option<LiveRecords>,
    /// Counts for Ctrl-T s.
    pub tally: Tally,
    /// The last frame's values: `--metrics` and Ctrl-T v.
    pub live: crate::live::Live,
    /// What the screen shows of the device's bytes (--timestamp, --hex, --map).
    pub display: crate::display::Display,
    /// Maps of typed bytes (--map O..., --omap).
    pub out_flags: Vec<crate::display::Flag>,
    /// Local echo of typed bytes (--local-echo, Ctrl-T e).
    pub echo: bool,
    /// Typed hex digits become bytes (--hex-input).
    pub hex_input: Option<crate::display::HexInput>,
    /// The settings Ctrl-T c shows.
    pub settings: String,
    /// The raw stream goes to a terminal (messages then mind the cursor).
    pub shows_on_terminal: bool,
    /// Show the raw stream on the output (false when records replace it).
    pub show_raw: bool,
    /// `None` in pipe mode: every input byte goes to the port.
    pub keys: Option<KeyReader>,
    pub say: Say,
}

impl std::fmt::Debug for ComHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComHooks")
            .field("log", &self.log)
            .finish_non_exhaustive()
    }
}

/// `[STATUS]: RTS CTS DSR DCD DTR RI ` (the lines that are set) and CR LF, on
/// stderr, exactly as com.c printed it.
pub fn print_status(port: &SerialPort) {
    let line = match port.modem_lines() {
        Ok(lines) => format!("[STATUS]: {lines}\r\n"),
        Err(tty::Error::Unsupported { .. }) => {
            "[STATUS]: unavailable: no modem lines on this device\r\n".to_string()
        }
        Err(err) => format!("[STATUS]: unavailable: {err}\r\n"),
    };
    to_stderr(format!("{}{line}", fresh_line()).as_bytes());
}

impl ComHooks {
    fn act(&mut self, action: Action, control: &mut Control<'_>) -> Flow {
        let port = control.port();
        let report = |what: &str, result: tty::Result<()>| match result {
            Ok(()) => self.say.always(what),
            Err(err) => self.say.always(&format!("{what}: {err}")),
        };
        match action {
            Action::Send(key) => {
                let byte = match self.hex_input.as_mut().map(|h| h.feed(key)) {
                    None => key,
                    Some(Ok(Some(byte))) => byte,
                    Some(Ok(None)) => return Flow::Continue,
                    Some(Err(bad)) => {
                        self.say.always(&format!(
                            "--hex-input: {:?} is not a hex digit (ignored)",
                            bad as char
                        ));
                        return Flow::Continue;
                    }
                };
                let bytes = crate::display::map_typed(&self.out_flags, byte);
                if self.echo {
                    let shown: Vec<u8> = bytes
                        .iter()
                        .flat_map(|&b| {
                            if b == b'\r' {
                                vec![b'\r', b'\n']
                            } else {
                                vec![b]
                            }
                        })
                        .collect();
                    to_stderr(&shown);
                }
                control.send(&bytes);
            }
            Action::ToggleEcho => {
                self.echo = !self.echo;
                self.say.always(if self.echo {
                    "local echo on"
                } else {
                    "local echo off"
                });
            }
            Action::Settings => {
                to_stderr(format!("{}{}", fresh_line(), self.settings).as_bytes());
            }
            Action::Clear => to_stderr(b"\x1b[H\x1b[2J"),
            Action::Exit => return Flow::Stop,
            Action::Status => print_status(port),
            Action::Counts => {
                print_status(port);
                to_stderr(format!("[COUNTS]: {}\r\n", self.tally.summary()).as_bytes());
            }
            Action::Help => {
                if let Some(keys) = &self.keys {
                    to_stderr(keys.help().as_bytes());
                }
            }
            Action::Break => report("break sent", port.send_break()),
            Action::ToggleDtr => match port.modem_lines() {
                Ok(lines) => {
                    let on = !lines.dtr();
                    report(if on { "DTR on" } else { "DTR off" }, port.set_dtr(on));
                }
                Err(err) => report("DTR", Err(err)),
            },
            Action::ToggleRts => match port.modem_lines() {
                Ok(lines) => {
                    let on = !lines.rts();
                    report(if on { "RTS on" } else { "RTS off" }, port.set_rts(on));
                }
                Err(err) => report("RTS", Err(err)),
            },
            Action::PulseDtr => report(
                "DTR pulsed low for 100 ms",
                port.pulse_dtr(Duration::from_millis(100)),
            ),
            Action::ToggleValues => {
                self.live.show_values = !self.live.show_values;
                if self.live.show_values {
                    let last = self.live.last_line();
                    self.say.always(&format!(
                        "live values on: {}",
                        last.as_deref().unwrap_or("no frame yet")
                    ));
                } else {
                    self.say.always("live values off");
                }
            }
            Action::MenuStarted => {}
            Action::Unknown(byte) => self.say.always(&format!(
                "unknown menu command {:?}; the menu key then ? shows the keys",
                byte as char
            )),
        }
        Flow::Continue
    }
}

impl Hooks for ComHooks {
    fn input(&mut self, data: &[u8], control: &mut Control<'_>) -> io::Result<Flow> {
        let Some(keys) = self.keys.as_mut() else {
            if self.out_flags.is_empty() && self.hex_input.is_none() {
                control.send(data);
            } else {
                for &key in data {
                    let byte = match self.hex_input.as_mut().map(|h| h.feed(key)) {
                        None => key,
                        Some(Ok(Some(byte))) => byte,
                        Some(Ok(None)) => continue,
                        Some(Err(bad)) => {
                            self.say.always(&format!(
                                "--hex-input: {:?} is not a hex digit (ignored)",
                                bad as char
                            ));
                            continue;
                        }
                    };
                    control.send(&crate::display::map_typed(&self.out_flags, byte));
                }
            }
            return Ok(Flow::Continue);
        };
        let actions: Vec<Action> = data.iter().map(|&byte| keys.feed(byte)).collect();
        for action in actions {
            if self.act(action, control) == Flow::Stop {
                return Ok(Flow::Stop);
            }
        }
        Ok(Flow::Continue)
    }

    fn port(&mut self, data: &[u8], local: &mut Vec<u8>) -> io::Result<()> {
        // The log first: whatever happens next, the bytes are on file.
        if let Some(log) = self.log.as_mut() {
            log.write(data)?;
        }
        // The counts (Ctrl-T s) and the values line (Ctrl-T v) are for the
        // keys, which pipe mode has not: there only `--metrics` needs the
        // frames decoded as they arrive. Decoding every byte twice for nobody
        // cost a flood from the port half of com's CPU time (docs/performance.md).
        let interactive = self.keys.is_some();
        if interactive {
            self.tally.feed(data);
        }
        let values = if interactive || self.live.has_metrics() {
            self.live.feed(data)
        } else {
            Vec::new()
        };
        if let Some(records) = self.records.as_mut() {
            records.feed(data, local)?;
        }
        if self.show_raw {
            let start = local.len();
            if self.display.is_plain() {
                local.extend_from_slice(data);
            } else {
                self.display
                    .show(data, time::OffsetDateTime::now_utc(), local);
            }
            if self.shows_on_terminal {
                shown(&local[start..]);
            }
        }
        // The values line follows the frame on the terminal, on a line of its
        // own (interactive mode only: Ctrl-T v).
        if self.keys.is_some() {
            for line in values {
                if !local.is_empty() && !local.ends_with(b"\n") {
                    local.extend_from_slice(b"\r\n");
                }
                local.extend_from_slice(format!("[VALUES]: {line}\r\n").as_bytes());
                shown(b"\n");
            }
        }
        Ok(())
    }
}

/// Runs a session to its end; returns the exit code. `make_hooks` (which
/// creates the log and records files) runs only once the device is open.
pub fn run(
    config: &Config,
    make_hooks: impl FnOnce() -> anyhow::Result<ComHooks>,
) -> anyhow::Result<Exit> {
    let stdin = io::stdin();
    let stdout = io::stdout();
    let interactive = !config.no_input && stdin.is_terminal() && stdout.is_terminal();
    let say = Say {
        raw: interactive,
        quiet: config.quiet,
    };

    let mut port = match SerialPort::open_with(&config.device, &config.settings, config.mode) {
        Ok(port) => port,
        Err(err) if config.reconnect && absent(&err) => {
            say.always(&format!(
                "{}: not there ({err}); waiting for it (--reconnect)",
                config.device.display()
            ));
            match wait_for_device(config, interactive)? {
                Waited::Port(port) => {
                    say.info(&format!(
                        "{}: connected ({})",
                        config.device.display(),
                        config.settings
                    ));
                    port
                }
                Waited::Exit(code) => return Ok(code),
            }
        }
        Err(err) => return Err(Exit::Open.because(err.into())),
    };
    let mut hooks = make_hooks()?;
    hooks.say = say;
    hooks.shows_on_terminal = stdout.is_terminal();
    if interactive {
        hooks.keys = Some(KeyReader::new(config.keys));
    }
    warn_if_speed_differs(&port, config, say);

    // Raw mode only now that the port is open: an open error leaves the terminal alone.
    let _raw = if interactive {
        // The terminal comes back before a panic's message and on SIGINT,
        // SIGTERM and SIGHUP too, not only when the guard drops. Failing to
        // register a handler only loses that path.
        RawTerminal::restore_on_panic();
        let _ = RawTerminal::restore_on_signals();
        Some(RawTerminal::stdin().context("cannot put the terminal in raw mode")?)
    } else {
        None
    };
    if interactive {
        if config.speed_given {
            say.info(&format!("setting speed {}", config.settings.baud));
        }
        let k = config.keys;
        say.info(&format!(
            "{} exit, {} modem lines status, {} ? help ({}; {})",
            k.exit,
            k.status,
            k.menu,
            config.device.display(),
            config.settings
        ));
        if !config.quiet {
            print_status(&port);
        }
    }

    loop {
        let mut bridge = Bridge::new(&port, stdout.as_fd()).linger(config.linger);
        if !config.no_input {
            bridge = bridge.input(stdin.as_fd());
        }
        let ending = bridge.run(&mut hooks);
        let ending = ending.map_err(|err| Exit::Failed.because(err.into()))?;
        match ending {
            Ending::Stopped | Ending::InputClosed => break,
            Ending::Signal(signal) => {
                finish(&mut hooks)?;
                return Ok(Exit::Signal(signal));
            }
            Ending::Hangup(how) => {
                say.always(&format!(
                    "{}: disconnected ({})",
                    config.device.display(),
                    describe(how)
                ));
                if !config.reconnect {
                    finish(&mut hooks)?;
                    return Ok(Exit::Hangup);
                }
                drop(port);
                say.always(&format!(
                    "{}: waiting for it to come back (--reconnect)",
                    config.device.display()
                ));
                match wait_for_device(config, interactive)? {
                    Waited::Port(reopened) => {
                        port = reopened;
                        say.info(&format!(
                            "{}: reconnected ({})",
                            config.device.display(),
                            config.settings
                        ));
                    }
                    Waited::Exit(code) => {
                        finish(&mut hooks)?;
                        return Ok(code);
                    }
                }
            }
            _ => break,
        }
    }
    finish(&mut hooks)?;
    Ok(Exit::Done)
}

fn finish(hooks: &mut ComHooks) -> anyhow::Result<()> {
    // The shell's prompt starts on a line of its own.
    if hooks.shows_on_terminal && MID_LINE.swap(false, Ordering::Relaxed) {
        let _ = tty::fdio::write_all(io::stdout().as_fd(), b"\r\n");
    }
    if let Some(records) = hooks.records.as_mut() {
        let mut tail = Vec::new();
        records.finish(&mut tail)?;
        if !tail.is_empty() {
            tty::fdio::write_all(io::stdout().as_fd(), &tail).context("writing the output")?;
        }
    }
    if let Some(log) = hooks.log.as_ref() {
        log.sync()
            .with_context(|| format!("syncing the log {}", log.path().display()))?;
    }
    Ok(())
}

fn describe(how: tty::Hangup) -> &'static str {
    match how {
        tty::Hangup::Eio => "I/O error: the adapter was unplugged or the line hung up",
        tty::Hangup::PollHup => "the line hung up",
        tty::Hangup::ZeroRead => "end of file on the port",
    }
}

fn warn_if_speed_differs(port: &SerialPort, config: &Config, say: Say) {
    if let Ok(actual) = port.speed()
        && actual != config.settings.baud
    {
        say.always(&format!(
            "{}: the driver set {} bit/s instead of {}",
            config.device.display(),
            actual,
            config.settings.baud
        ));
    }
}

enum Waited {
    Port(SerialPort),
    Exit(Exit),
}

/// Tries to reopen the device every 300 ms, until it works, a signal arrives, or
/// (interactive) the exit key is pressed.
fn wait_for_device(config: &Config, interactive: bool) -> anyhow::Result<Waited> {
    const SIGNALS: Token = Token(0);
    const INPUT: Token = Token(1);
    let mut poll = Poll::new().context("creating a poller")?;
    let mut events = Events::with_capacity(4);
    let mut signals = ExitSignals::new().context("catching signals")?;
    poll.registry()
        .register(&mut signals, SIGNALS, Interest::READABLE)
        .context("watching signals")?;
    let stdin = io::stdin();
    let stdin_fd = stdin.as_fd();
    // Non-blocking while waiting; the flags it had come back when this drops.
    let mut _nonblocking = None;
    if interactive {
        use std::os::fd::AsRawFd;
        let raw = stdin_fd.as_raw_fd();
        poll.registry()
            .register(&mut SourceFd(&raw), INPUT, Interest::READABLE)
            .context("watching stdin")?;
        _nonblocking = Some(tty::NonBlocking::set(stdin_fd).context("stdin")?);
    }
    let mut keys = KeyReader::new(config.keys);
    // The loop's value is returned while `_nonblocking` still lives.
    loop {
        match SerialPort::open_with(&config.device, &config.settings, config.mode) {
            Ok(port) => break Ok(Waited::Port(port)),
            Err(err) if still_gone(&err) => {}
            Err(err) => break Err(anyhow::Error::from(err).context("reopening the device")),
        }
        match poll.poll(&mut events, Some(Duration::from_millis(300))) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
            Err(err) => break Err(anyhow::Error::from(err).context("waiting")),
        }
        let mut exit = None;
        for event in events.iter() {
            if event.token() == SIGNALS {
                if let Some(signal) = signals.pending() {
                    exit = Some(Exit::Signal(signal));
                }
            } else if event.token() == INPUT {
                let mut buf = [0u8; 256];
                loop {
                    match tty::fdio::read(stdin_fd, &mut buf) {
                        Ok(0) => break,
                        Ok(n) => {
                            if buf[..n].iter().any(|&b| keys.feed(b) == Action::Exit) {
                                exit = Some(Exit::Done);
                            }
                        }
                        Err(_) => break,
                    }
                }
            }
        }
        if let Some(code) = exit {
            break Ok(Waited::Exit(code));
        }
    }
}

/// The device is not there (yet): worth waiting for at start.
fn absent(err: &tty::Error) -> bool {
    err.is_gone() || matches!(err, tty::Error::NotFound { .. })
}

fn still_gone(err: &tty::Error) -> bool {
    err.is_gone()
        || matches!(
            err,
            tty::Error::NotFound { .. }
                | tty::Error::PermissionDenied { .. }
                | tty::Error::InUse { .. }
                | tty::Error::NotATty { .. }
        )
}
