//! Escape keys of the interactive mode.
//!
//! As in the original `com`: Ctrl-A exits and Ctrl-X prints the modem lines, each
//! acting at once. Everything else goes through a menu key (Ctrl-T by default,
//! as in tio) followed by one command key.
use std::fmt;
use std::str::FromStr;

/// A key given on the command line: `C-a`, `ctrl-a`, `^A`, `0x01`, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key(pub Option<u8>);

impl FromStr for Key {
    type Err = String;

    fn from_str(input: &str) -> Result<Key, String> {
        let lower = input.trim().to_ascii_lowercase();
        if lower == "none" || lower == "off" {
            return Ok(Key(None));
        }
        let letter = lower
            .strip_prefix("c-")
            .or_else(|| lower.strip_prefix("ctrl-"))
            .or_else(|| lower.strip_prefix('^'));
        if let Some(letter) = letter {
            if let [c @ (b'a'..=b'z' | b'@' | b'[' | b'\\' | b']' | b'_')] = letter.as_bytes() {
                return Ok(Key(Some(c.to_ascii_uppercase() & 0x1f)));
            }
        } else if let Some(hex) = lower.strip_prefix("0x")
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            return Ok(Key(Some(byte)));
        }
        Err(format!(
            "invalid key `{input}`: expected a control key such as C-a, ctrl-a or ^A, \
             a byte such as 0x01, or none"
        ))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            None => f.write_str("none"),
            Some(byte @ 0..=0x1f) => {
                write!(f, "C-{}", ((byte | 0x40) as char).to_ascii_lowercase())
            }
            Some(byte) => write!(f, "0x{byte:02x}"),
        }
    }
}

/// The interactive keys in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyMap {
    /// Leaves `com` (Ctrl-A).
    pub exit: Key,
    /// Prints the modem lines (Ctrl-X).
    pub status: Key,
    /// Starts a menu command (Ctrl-T).
    pub menu: Key,
}

impl Default for KeyMap {
    fn default() -> Self {
        KeyMap {
            exit: Key(Some(0x01)),
            status: Key(Some(0x18)),
            menu: Key(Some(0x14)),
        }
    }
}

/// What a typed byte means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send these bytes to the port.
    Send(u8),
    /// Leave.
    Exit,
    /// Print the modem lines.
    Status,
    /// Print the modem lines and the counts of frames received.
    Counts,
    /// Print the key help.
    Help,
    /// Send a break.
    Break,
    /// Toggle DTR.
    ToggleDtr,
    /// Toggle RTS.
    ToggleRts,
    /// Pulse DTR low for 100 ms.
    PulseDtr,
    /// Toggle the line of live values after each frame.
    ToggleValues,
    /// Toggle local echo of typed bytes.
    ToggleEcho,
    /// Show the session's settings.
    Settings,
    /// Clear the screen.
    Clear,
    /// The menu key was pressed: wait for the command.
    MenuStarted,
    /// An unknown menu command.
    Unknown(u8),
}

/// Turns typed bytes into actions, remembering a pending menu key.
#[derive(Debug, Clone)]
pub struct KeyReader {
    keys: KeyMap,
    in_menu: bool,
}

impl KeyReader {
    /// A reader for `keys`.
    pub fn new(keys: KeyMap) -> KeyReader {
        KeyReader {
            keys,
            in_menu: false,
        }
    }

    /// The action of one typed byte.
    pub fn feed(&mut self, byte: u8) -> Action {
        let key = Some(byte);
        if self.in_menu {
            self.in_menu = false;
            // The menu key followed by any of the three special keys sends that
            // key itself, so every byte can still reach the device.
            if key == self.keys.menu.0 || key == self.keys.exit.0 || key == self.keys.status.0 {
                return Action::Send(byte);
            }
            // As in tio: l clears the screen, L shows the modem lines.
            match byte {
                b'l' => return Action::Clear,
                b'L' => return Action::Status,
                _ => {}
            }
            return match byte.to_ascii_lowercase() {
                b'?' | b'h' => Action::Help,
                b'q' => Action::Exit,
                b'b' => Action::Break,
                b'd' => Action::ToggleDtr,
                b'r' => Action::ToggleRts,
                b'p' => Action::PulseDtr,
                b's' => Action::Counts,
                b'v' => Action::ToggleValues,
                b'e' => Action::ToggleEcho,
                b'c' => Action::Settings,
                other => Action::Unknown(other),
            };
        }
        if key == self.keys.exit.0 {
            Action::Exit
        } else if key == self.keys.status.0 {
            Action::Status
        } else if key == self.keys.menu.0 {
            self.in_menu = true;
            Action::MenuStarted
        } else {
            Action::Send(byte)
        }
    }

    /// The help text (lines end in CR LF: the terminal is raw).
    pub fn help(&self) -> String {
        let k = &self.keys;
        let mut text = String::from("[com] keys:\r\n");
        let mut line = |key: &Key, what: &str| {
            if key.0.is_some() {
                text.push_str(&format!("  {:<9} {what}\r\n", key.to_string()));
            }
        };
        line(&k.exit, "exit");
        line(&k.status, "show modem lines ([STATUS]: ...)");
        if k.menu.0.is_some() {
            let m = k.menu;
            text.push_str(&format!(
                "  {m} ?     this help\r\n  {m} b     send break\r\n  \
                 {m} d     toggle DTR\r\n  {m} r     toggle RTS\r\n  \
                 {m} p     pulse DTR low for 100 ms\r\n  {m} L     show modem lines\r\n  \
                 {m} l     clear the screen\r\n  {m} e     toggle local echo\r\n  \
                 {m} c     show the settings\r\n  \
                 {m} s     show modem lines and counts of frames received\r\n  \
                 {m} v     toggle the meter's live values after each frame\r\n  \
                 {m} q     exit\r\n  {m} {m}   send {m} itself (also {m} then the exit or status key)\r\n"
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_in_every_spelling() {
        for text in ["C-a", "ctrl-a", "^A", "0x01", "c-A"] {
            assert_eq!(text.parse::<Key>().unwrap(), Key(Some(1)), "{text}");
        }
        assert_eq!("none".parse::<Key>().unwrap(), Key(None));
        assert_eq!("C-]".parse::<Key>().unwrap(), Key(Some(0x1d)));
        assert!("C-ab".parse::<Key>().unwrap_err().contains("`C-ab`"));
        assert!("x".parse::<Key>().is_err());
        assert_eq!(Key(Some(0x18)).to_string(), "C-x");
        assert_eq!(Key(Some(0x7f)).to_string(), "0x7f");
    }

    #[test]
    fn the_original_keys_act_at_once() {
        let mut reader = KeyReader::new(KeyMap::default());
        assert_eq!(reader.feed(b'a'), Action::Send(b'a'));
        assert_eq!(reader.feed(0x18), Action::Status);
        assert_eq!(reader.feed(0x01), Action::Exit);
    }

    #[test]
    fn menu_commands_and_literal_keys() {
        let mut reader = KeyReader::new(KeyMap::default());
        let mut menu = |byte| {
            assert_eq!(reader.feed(0x14), Action::MenuStarted);
            reader.feed(byte)
        };
        assert_eq!(menu(b'?'), Action::Help);
        assert_eq!(menu(b'b'), Action::Break);
        assert_eq!(menu(b'd'), Action::ToggleDtr);
        assert_eq!(menu(b'R'), Action::ToggleRts);
        assert_eq!(menu(b'p'), Action::PulseDtr);
        assert_eq!(menu(b'q'), Action::Exit);
        assert_eq!(menu(0x01), Action::Send(0x01));
        assert_eq!(menu(0x14), Action::Send(0x14));
        assert_eq!(menu(b'z'), Action::Unknown(b'z'));
    }

    #[test]
    fn disabled_keys_pass_through() {
        let keys = KeyMap {
            exit: Key(Some(0x1d)),
            status: Key(None),
            menu: Key(None),
        };
        let mut reader = KeyReader::new(keys);
        assert_eq!(reader.feed(0x01), Action::Send(0x01));
        assert_eq!(reader.feed(0x18), Action::Send(0x18));
        assert_eq!(reader.feed(0x14), Action::Send(0x14));
        assert_eq!(reader.feed(0x1d), Action::Exit);
        assert!(!reader.help().contains("toggle"));
    }
}
