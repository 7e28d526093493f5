//! A tokenizer that reads a command line exactly as ipvsadm's option library
//! (popt) reads it.
//!
//! Why not clap: ipvsadm's grammar is popt's, and scripts depend on its corners.
//! Its first option must be the command; later commands are "invalid option";
//! options are processed strictly left to right, so which error wins depends on
//! their order; short options bundle (`-Ln`, `-At`, `-w5`, `-w=5`); `-p` takes an
//! argument only when the next word does not start with `-`; a required argument
//! is taken even when it starts with `-` (`-s -p` names the scheduler `-p`);
//! non-option words are collected anywhere on the line (for `--set`); `--` ends
//! options; long names must match exactly (no abbreviations, no single-dash
//! long names); an unknown option ends parsing with `ARG: unknown option`.
//! A general-purpose parser would change these answers, so this module follows
//! popt's rules directly and keeps nothing else.

/// How an option takes its argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgKind {
    /// A flag.
    None,
    /// Always takes the next word (or the rest of a bundle / `=value`).
    Required,
    /// Takes the next word only if it does not start with `-`.
    Optional,
}

/// One entry of an option table.
#[derive(Debug, Clone, Copy)]
pub struct OptSpec<T: Copy> {
    pub long: &'static str,
    pub short: Option<char>,
    pub arg: ArgKind,
    pub tag: T,
}

/// An option table with its short letters indexed, built at compile time
/// (`OptTable::new` is a `const fn`): finding a short option is one array
/// read instead of a walk through the table.
#[derive(Debug, Clone, Copy)]
pub struct OptTable<T: Copy + 'static> {
    specs: &'static [OptSpec<T>],
    /// For each ASCII letter, 1 + the index of its (first) entry; 0 for none.
    short: [u8; 128],
}

impl<T: Copy + 'static> OptTable<T> {
    /// Indexes `specs` (at most 255 entries; short letters must be ASCII).
    pub const fn new(specs: &'static [OptSpec<T>]) -> Self {
        assert!(
            specs.len() < 256,
            "an option table holds at most 255 entries"
        );
        let mut short = [0u8; 128];
        let mut i = specs.len();
        // Backwards, so the first entry of a letter wins, as in a walk.
        while i > 0 {
            i -= 1;
            if let Some(ch) = specs[i].short {
                assert!(ch.is_ascii(), "short options are ASCII letters");
                short[ch as usize] = (i + 1) as u8;
            }
        }
        OptTable { specs, short }
    }

    /// The entry of short option `ch`.
    fn find_short(&self, ch: char) -> Option<&OptSpec<T>> {
        let slot = *self.short.get(ch as usize)?;
        (slot != 0).then(|| &self.specs[usize::from(slot) - 1])
    }

    /// The entry of long option `name` (exact match).
    fn find_long(&self, name: &str) -> Option<&OptSpec<T>> {
        self.specs.iter().find(|spec| spec.long == name)
    }
}

/// popt's two parse errors that ipvsadm can meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoptError {
    /// `POPT_ERROR_NOARG`.
    MissingArgument,
    /// `POPT_ERROR_BADOPT`.
    UnknownOption,
}

impl PoptError {
    /// popt's own text for the error (`poptStrerror`).
    pub fn text(self) -> &'static str {
        match self {
            PoptError::MissingArgument => "missing argument",
            PoptError::UnknownOption => "unknown option",
        }
    }
}

/// The tokenizer's state over one argument vector (`argv[0]` included).
#[derive(Debug)]
pub struct Popt<'a, T: Copy + 'static> {
    table: &'a OptTable<T>,
    argv: &'a [&'a str],
    /// Index of the next word to read.
    next: usize,
    /// Rest of a short-option bundle still to read: (word index, byte offset).
    bundle: Option<(usize, usize)>,
    leftovers: Vec<&'a str>,
    next_leftover: usize,
    rest_are_leftovers: bool,
    posix_me_harder: bool,
}

impl<'a, T: Copy + 'static> Popt<'a, T> {
    /// Starts reading `argv` (whose first word is the program name).
    pub fn new(table: &'a OptTable<T>, argv: &'a [&'a str]) -> Self {
        static POSIX_ME_HARDER: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        let posix_me_harder = *POSIX_ME_HARDER.get_or_init(|| {
            std::env::var_os("POSIXLY_CORRECT").is_some()
                || std::env::var_os("POSIX_ME_HARDER").is_some()
        });
        Popt {
            table,
            argv,
            next: 1,
            bundle: None,
            leftovers: Vec::new(),
            next_leftover: 0,
            rest_are_leftovers: false,
            posix_me_harder,
        }
    }

    /// The word popt blames for the last option or error (`poptBadOption`).
    pub fn bad_option(&self) -> &'a str {
        self.argv
            .get(self.next.saturating_sub(1))
            .copied()
            .unwrap_or("")
    }

    /// Next non-option word (`poptGetArg`).
    pub fn next_leftover(&mut self) -> Option<&'a str> {
        let word = self.leftovers.get(self.next_leftover).copied();
        if word.is_some() {
            self.next_leftover += 1;
        }
        word
    }

    /// Reads the next option: `Ok(None)` when the words are used up.
    pub fn next_opt(&mut self) -> Result<Option<(T, Option<&'a str>)>, PoptError> {
        loop {
            let (spec, inline_arg) = if let Some((word, offset)) = self.bundle.take() {
                self.short_option(word, offset)?
            } else {
                let Some(word) = self.argv.get(self.next) else {
                    return Ok(None);
                };
                self.next += 1;
                let word = *word;
                if self.rest_are_leftovers || !word.starts_with('-') || word == "-" {
                    if self.posix_me_harder {
                        self.rest_are_leftovers = true;
                    }
                    self.leftovers.push(word);
                    continue;
                }
                if word == "--" {
                    self.rest_are_leftovers = true;
                    continue;
                }
                if let Some(long) = word.strip_prefix("--") {
                    let (name, value) = match long.split_once('=') {
                        Some((name, value)) => (name, Some(value)),
                        None => (long, None),
                    };
                    let spec = self.table.find_long(name).ok_or(PoptError::UnknownOption)?;
                    (*spec, value)
                } else {
                    // One dash: popt tries it as a bundle of short options.
                    self.short_option(self.next - 1, 1)?
                }
            };
            let arg = match spec.arg {
                ArgKind::None => None,
                ArgKind::Required | ArgKind::Optional => {
                    if let Some(value) = inline_arg {
                        Some(value)
                    } else {
                        match self.argv.get(self.next) {
                            None if spec.arg == ArgKind::Required => {
                                return Err(PoptError::MissingArgument);
                            }
                            None => None,
                            Some(word)
                                if spec.arg == ArgKind::Optional && word.starts_with('-') =>
                            {
                                None
                            }
                            Some(word) => {
                                self.next += 1;
                                Some(*word)
                            }
                        }
                    }
                }
            };
            return Ok(Some((spec.tag, arg)));
        }
    }

    /// Reads the short option at `argv[word][offset..]`; leaves the rest of the
    /// bundle for later, or hands it over as the inline argument.
    fn short_option(
        &mut self,
        word: usize,
        offset: usize,
    ) -> Result<(OptSpec<T>, Option<&'a str>), PoptError> {
        let text = self.argv[word];
        let rest = &text[offset..];
        let ch = rest.chars().next().ok_or(PoptError::UnknownOption)?;
        let spec = *self.table.find_short(ch).ok_or(PoptError::UnknownOption)?;
        let mut after = offset + ch.len_utf8();
        if after < text.len() {
            // popt skips one '=' right after a short option letter.
            if text.as_bytes()[after] == b'=' {
                after += 1;
            }
            if spec.arg == ArgKind::None {
                self.bundle = Some((word, after));
                if after >= text.len() {
                    self.bundle = None;
                }
                return Ok((spec, None));
            }
            return Ok((spec, Some(&text[after..])));
        }
        Ok((spec, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: OptTable<char> = OptTable::new(&[
        OptSpec {
            long: "list",
            short: Some('L'),
            arg: ArgKind::None,
            tag: 'L',
        },
        OptSpec {
            long: "numeric",
            short: Some('n'),
            arg: ArgKind::None,
            tag: 'n',
        },
        OptSpec {
            long: "weight",
            short: Some('w'),
            arg: ArgKind::Required,
            tag: 'w',
        },
        OptSpec {
            long: "persistent",
            short: Some('p'),
            arg: ArgKind::Optional,
            tag: 'p',
        },
    ]);

    type Outcome = (
        Vec<(char, Option<String>)>,
        Result<(), PoptError>,
        Vec<String>,
    );

    fn all(words: &[&str]) -> Outcome {
        let argv: Vec<&str> = std::iter::once("prog")
            .chain(words.iter().copied())
            .collect();
        let mut popt = Popt::new(&TABLE, &argv);
        let mut out = Vec::new();
        let end = loop {
            match popt.next_opt() {
                Ok(Some((tag, arg))) => out.push((tag, arg.map(String::from))),
                Ok(None) => break Ok(()),
                Err(err) => break Err(err),
            }
        };
        let mut left = Vec::new();
        while let Some(word) = popt.next_leftover() {
            left.push(word.to_string());
        }
        (out, end, left)
    }

    #[test]
    fn bundles_and_inline_arguments() {
        let (opts, end, _) = all(&["-Ln", "-w5", "-w=6", "--weight=7", "--weight", "-8"]);
        assert_eq!(end, Ok(()));
        let expected: Vec<(char, Option<String>)> = vec![
            ('L', None),
            ('n', None),
            ('w', Some("5".into())),
            ('w', Some("6".into())),
            ('w', Some("7".into())),
            ('w', Some("-8".into())),
        ];
        assert_eq!(opts, expected);
    }

    #[test]
    fn optional_argument_skips_dash_words() {
        let (opts, _, _) = all(&["-p", "-n", "-p", "30", "-p"]);
        assert_eq!(
            opts,
            vec![
                ('p', None),
                ('n', None),
                ('p', Some("30".into())),
                ('p', None)
            ]
        );
    }

    #[test]
    fn errors_and_leftovers() {
        let (_, end, _) = all(&["-L", "--numer"]);
        assert_eq!(end, Err(PoptError::UnknownOption));
        let (_, end, _) = all(&["-L", "-w"]);
        assert_eq!(end, Err(PoptError::MissingArgument));
        let (opts, end, left) = all(&["a", "-L", "-", "b", "--", "-n"]);
        assert_eq!(end, Ok(()));
        assert_eq!(opts, vec![('L', None)]);
        assert_eq!(left, vec!["a", "-", "b", "-n"]);
    }
}
