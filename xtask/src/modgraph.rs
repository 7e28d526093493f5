//! The module graph of one crate, read from its sources: which of its
//! modules names which, so that `tidy` can refuse import cycles.
//!
//! A node is a module file (`lib.rs`, `service/mod.rs`, `service/model.rs`,
//! ...). There is an edge from A to B when A's code, outside its
//! `#[cfg(test)] mod tests`, holds a path `crate::...`, `self::...` or
//! `super::...` (also inside `use` groups) whose longest module prefix is B.
//! So importing an item through a re-export names the re-exporting module:
//! code inside the crate imports from the module that defines the item, and
//! a parent's `pub use self::child::Item` is an edge from parent to child.
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io;
use std::path::Path;

/// A module path inside the crate, `[]` being the crate root.
type Module = Vec<String>;

/// Every module file under `src` and the modules each names.
fn graph(src: &Path) -> io::Result<BTreeMap<Module, BTreeSet<Module>>> {
    let mut files = BTreeMap::new();
    collect(src, &mut Vec::new(), &mut files)?;
    let modules: BTreeSet<Module> = files.keys().cloned().collect();
    let mut edges = BTreeMap::new();
    for (module, text) in &files {
        let mut named = BTreeSet::new();
        for (anchor, path) in paths(&strip(text)) {
            let mut base: Module = match anchor {
                Anchor::Crate => Vec::new(),
                Anchor::SelfModule | Anchor::Super => module.clone(),
            };
            if anchor == Anchor::Super {
                base.pop();
            }
            let mut rest = path.as_slice();
            while let Some((first, tail)) = rest.split_first()
                && first == "super"
            {
                base.pop();
                rest = tail;
            }
            base.extend(rest.iter().cloned());
            while !modules.contains(&base) {
                base.pop();
            }
            if &base != module {
                named.insert(base);
            }
        }
        edges.insert(module.clone(), named);
    }
    Ok(edges)
}

/// Reads the `.rs` files under `dir` (module path `at`) into `files`;
/// `src/bin` holds other crates and is skipped.
fn collect(dir: &Path, at: &mut Module, files: &mut BTreeMap<Module, String>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if at.is_empty() && name == "bin" {
                continue;
            }
            at.push(name);
            collect(&path, at, files)?;
            at.pop();
        } else if let Some(stem) = name.strip_suffix(".rs") {
            let mut module = at.clone();
            if !matches!(stem, "lib" | "main" | "mod") {
                module.push(stem.to_owned());
            }
            let text = fs::read_to_string(&path)?;
            files.insert(module, text);
        }
    }
    Ok(())
}

/// The code of a file without its line comments and its test module.
fn strip(text: &str) -> String {
    let mut code = String::with_capacity(text.len());
    for line in text.lines() {
        code.push_str(line.find("//").map_or(line, |at| &line[..at]));
        code.push('\n');
    }
    let mut from = 0;
    while let Some(at) = code[from..].find("#[cfg(test)]") {
        let start = from + at;
        let after = code[start + "#[cfg(test)]".len()..].trim_start();
        if after.starts_with("mod tests") {
            code.truncate(start);
            break;
        }
        from = start + 1;
    }
    code
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    Crate,
    SelfModule,
    Super,
}

/// Every path of `code` that starts at `crate`, `self` or `super`, with
/// `use` groups expanded (`crate::{a::b, c}` gives `a::b` and `c`).
fn paths(code: &str) -> Vec<(Anchor, Vec<String>)> {
    let bytes = code.as_bytes();
    let mut found = Vec::new();
    for (word, anchor) in [
        ("crate::", Anchor::Crate),
        ("self::", Anchor::SelfModule),
        ("super::", Anchor::Super),
    ] {
        let mut from = 0;
        while let Some(at) = code[from..].find(word) {
            let start = from + at;
            from = start + word.len();
            let before = start.checked_sub(1).map(|i| bytes[i]);
            if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':') {
                continue;
            }
            let mut position = from;
            let mut prefix = Vec::new();
            tree(bytes, &mut position, &mut prefix, &mut |path| {
                found.push((anchor, path))
            });
        }
    }
    found
}

/// Reads one use-tree at `position` (after a `::`), calling `each` with every
/// full path it names, `prefix` included.
fn tree(
    bytes: &[u8],
    position: &mut usize,
    prefix: &mut Vec<String>,
    each: &mut impl FnMut(Vec<String>),
) {
    let depth = prefix.len();
    loop {
        skip_space(bytes, position);
        if bytes.get(*position) == Some(&b'{') {
            *position += 1;
            loop {
                skip_space(bytes, position);
                match bytes.get(*position) {
                    None => break,
                    Some(b'}') => {
                        *position += 1;
                        break;
                    }
                    Some(b',') => *position += 1,
                    Some(_) => {
                        let before = *position;
                        tree(bytes, position, prefix, each);
                        if *position == before {
                            *position += 1;
                        }
                    }
                }
            }
            prefix.truncate(depth);
            return;
        }
        let start = *position;
        while bytes
            .get(*position)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            *position += 1;
        }
        if *position > start {
            prefix.push(String::from_utf8_lossy(&bytes[start..*position]).into_owned());
        }
        if bytes[*position..].starts_with(b"::") {
            *position += 2;
            continue;
        }
        each(prefix.clone());
        prefix.truncate(depth);
        return;
    }
}

fn skip_space(bytes: &[u8], position: &mut usize) {
    while bytes.get(*position).is_some_and(u8::is_ascii_whitespace) {
        *position += 1;
    }
}

/// The import cycles among the modules of the crate whose sources are in
/// `src`, each as `a -> b -> a` (the shortest cycle through the first module
/// of each strongly connected group).
pub fn cycles(src: &Path) -> io::Result<Vec<String>> {
    let edges = graph(src)?;
    let mut found = Vec::new();
    let mut reported: BTreeSet<Module> = BTreeSet::new();
    for start in edges.keys() {
        if reported.contains(start) {
            continue;
        }
        if let Some(cycle) = shortest_cycle(&edges, start) {
            // One cycle per strongly connected group: the modules that
            // `start` reaches and that reach it back.
            let reached = reachable(&edges, start);
            reported.extend(
                reached
                    .into_iter()
                    .filter(|m| reachable(&edges, m).contains(start))
                    .cloned(),
            );
            let names: Vec<String> = cycle.iter().chain([start]).map(name).collect();
            found.push(names.join(" -> "));
        }
    }
    Ok(found)
}

/// The modules reachable from `start`.
fn reachable<'a>(
    edges: &'a BTreeMap<Module, BTreeSet<Module>>,
    start: &Module,
) -> BTreeSet<&'a Module> {
    let mut seen = BTreeSet::new();
    let mut queue: VecDeque<&Module> = VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for next in edges.get(at).into_iter().flatten() {
            if seen.insert(next) {
                queue.push_back(next);
            }
        }
    }
    seen
}

/// The shortest path from `start` back to itself, breadth first.
fn shortest_cycle(
    edges: &BTreeMap<Module, BTreeSet<Module>>,
    start: &Module,
) -> Option<Vec<Module>> {
    let mut came_from: BTreeMap<&Module, &Module> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(at) = queue.pop_front() {
        for next in edges.get(at).into_iter().flatten() {
            if next == start {
                let mut cycle = vec![at.clone()];
                let mut step = at;
                while step != start {
                    step = came_from[step];
                    cycle.push(step.clone());
                }
                cycle.reverse();
                return Some(cycle);
            }
            if !came_from.contains_key(next) {
                came_from.insert(next, at);
                queue.push_back(next);
            }
        }
    }
    None
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "crate".to_owned()
    } else {
        module.join("::")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A crate's `src/` with these files, in a fresh directory.
    fn crate_with(name: &str, files: &[(&str, &str)]) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("xtask-modgraph-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        for (path, text) in files {
            let path = dir.join(path);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn a_cycle_through_a_use_group_is_named() {
        let src = crate_with(
            "cycle",
            &[
                ("lib.rs", "mod error;\nmod message;\nmod object;\n"),
                ("error.rs", "use crate::{constants::X, message::Cmd};\n"),
                ("message.rs", "use crate::object::{self, attribute::A};\n"),
                (
                    "object/mod.rs",
                    "pub use self::attribute::A;\nmod attribute;\n",
                ),
                (
                    "object/attribute.rs",
                    "fn f() -> crate::error::Error { todo!() }\n",
                ),
            ],
        );
        assert_eq!(
            cycles(&src).unwrap(),
            ["error -> message -> object::attribute -> error"]
        );
        fs::remove_dir_all(src).unwrap();
    }

    #[test]
    fn tests_comments_and_super_paths_are_read_as_rust_reads_them() {
        let src = crate_with(
            "acyclic",
            &[
                ("lib.rs", "pub use self::a::A;\nmod a;\nmod b;\n"),
                ("a/mod.rs", "pub use self::x::A;\nmod x;\nmod y;\n"),
                (
                    "a/x.rs",
                    "use super::y::Y; // crate::b is only in a comment\n",
                ),
                (
                    "a/y.rs",
                    "use crate::b::B;\n#[cfg(test)]\nmod tests {\n    use crate::A;\n}\n",
                ),
                ("b.rs", "pub struct B;\n"),
            ],
        );
        assert_eq!(cycles(&src).unwrap(), Vec::<String>::new());
        let edges = graph(&src).unwrap();
        let module = |path: &str| path.split("::").map(str::to_owned).collect::<Module>();
        assert_eq!(edges[&module("a::x")], BTreeSet::from([module("a::y")]));
        assert_eq!(edges[&module("a::y")], BTreeSet::from([module("b")]));
        fs::remove_dir_all(src).unwrap();
    }
}
