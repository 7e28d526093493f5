//! Function lengths of one crate, read from its sources: so that `tidy` can
//! refuse a function longer than a crate's limit.
//!
//! A function is an item or method whose line starts with `fn` after
//! optional `pub(...)`, `const`, `async` and `unsafe`; its length runs from
//! that line to the line of its closing brace, counted on the code with
//! comments, strings and character literals blanked (braces inside them do
//! not count). Declarations without a body (`fn f();`) are skipped.
use std::fs;
use std::io;
use std::path::Path;

/// One function longer than the limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Long {
    /// The file, relative to the directory scanned.
    pub file: String,
    /// 1-based line of `fn`.
    pub line: usize,
    pub name: String,
    pub lines: usize,
}

/// Every function under `src` (recursively) longer than `limit` lines.
pub fn longer_than(src: &Path, limit: usize) -> io::Result<Vec<Long>> {
    let mut files = Vec::new();
    collect(src, src, &mut files)?;
    files.sort();
    let mut found = Vec::new();
    for (name, path) in files {
        let text = fs::read_to_string(&path)?;
        for (line, fn_name, lines) in functions(&text) {
            if lines > limit {
                found.push(Long {
                    file: name.clone(),
                    line,
                    name: fn_name,
                    lines,
                });
            }
        }
    }
    Ok(found)
}

fn collect(
    root: &Path,
    dir: &Path,
    files: &mut Vec<(String, std::path::PathBuf)>,
) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(root, &path, files)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .display()
                .to_string();
            files.push((name, path));
        }
    }
    Ok(())
}

/// Each function of `text` with a body: (line of `fn`, name, length in lines).
pub fn functions(text: &str) -> Vec<(usize, String, usize)> {
    let code = blank(text);
    let lines: Vec<&str> = code.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let Some(name) = fn_name(line) else {
            continue;
        };
        if let Some(end) = body_end(&lines, start) {
            found.push((start + 1, name, end - start + 1));
        }
    }
    found
}

/// The name of the function an item line declares.
fn fn_name(line: &str) -> Option<String> {
    let mut rest = line.trim_start();
    loop {
        if let Some(after) = rest.strip_prefix("fn ") {
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            return (!name.is_empty()).then_some(name);
        }
        let word_end = if rest.starts_with("pub(") {
            rest.find(')')? + 1
        } else {
            rest.find(' ')?
        };
        if !matches!(&rest[..word_end], "pub" | "const" | "async" | "unsafe")
            && !rest.starts_with("pub(")
        {
            return None;
        }
        rest = rest[word_end..].trim_start();
    }
}

/// The line of the brace that closes the body opened after line `start`;
/// `None` for a declaration that ends with `;` first.
fn body_end(lines: &[&str], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut opened = false;
    for (i, line) in lines.iter().enumerate().skip(start) {
        for c in line.chars() {
            match c {
                '{' => {
                    depth += 1;
                    opened = true;
                }
                '}' => {
                    depth = depth.saturating_sub(1);
                    if opened && depth == 0 {
                        return Some(i);
                    }
                }
                ';' if !opened && depth == 0 => return None,
                _ => {}
            }
        }
    }
    None
}

/// `text` with comments, string and character literals replaced by spaces
/// (newlines kept, so lines keep their numbers).
fn blank(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let keep = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    keep(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_'))
        {
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                keep(&mut out, chars[j]);
                j += 1;
            }
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    keep(&mut out, chars[i]);
                    i += 1;
                }
                if let Some(&ch) = chars.get(i) {
                    keep(&mut out, ch);
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && char_literal_len(&chars[i..]).is_some() {
            i += char_literal_len(&chars[i..]).unwrap_or(1);
            out.push(' ');
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// The length of the character literal at the start of `chars` (`'x'`,
/// `'\n'`, `'\u{7f}'`); `None` for a lifetime.
fn char_literal_len(chars: &[char]) -> Option<usize> {
    match chars.get(1)? {
        '\\' => {
            let close = chars.iter().skip(2).position(|c| *c == '\'')?;
            Some(close + 3)
        }
        _ => (chars.get(2) == Some(&'\'')).then_some(3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(lines: usize) -> String {
        let mut text = String::from("pub(crate) fn long(x: &str) -> usize {\n");
        for _ in 0..lines - 2 {
            text.push_str("    let _ = \"}}{\"; let _ = '{'; // }\n");
        }
        text.push_str("}\n");
        text
    }

    #[test]
    fn lengths_count_from_fn_to_its_closing_brace() {
        let text = format!("trait T {{ fn declared(&self); }}\n{}", body(81));
        assert_eq!(functions(&text), vec![(2, "long".to_string(), 81)]);
    }

    #[test]
    fn braces_in_strings_chars_and_comments_do_not_count() {
        let text = "fn a<'x>(s: &'x str) {\n    let _ = r#\"{\"#; /* { */\n}\nfn b() {}\n";
        assert_eq!(
            functions(text),
            vec![(1, "a".to_string(), 3), (4, "b".to_string(), 1)]
        );
    }

    #[test]
    fn only_functions_over_the_limit_are_named() {
        let dir = std::env::temp_dir().join(format!("xtask-fnlen-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("a.rs"), format!("{}{}", body(80), body(81))).unwrap();
        let long = longer_than(&dir, 80).unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            long,
            vec![Long {
                file: "a.rs".into(),
                line: 81,
                name: "long".into(),
                lines: 81
            }]
        );
    }
}
