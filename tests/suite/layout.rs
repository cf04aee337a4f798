//! The crate's modules form no import loop, directly or around a cycle: each module of `src/`
//! (a file, or a directory's `mod.rs`) is a node, and every `use crate::…` or `use super::…`
//! outside its unit tests is an edge to the module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::rust_files;

/// `src/keys/key.rs` → `keys::key`; `src/keys/mod.rs` → `keys`; `src/lib.rs` → `crate`.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> =
        relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
    if parts.last().is_some_and(|last| last == "mod") {
        parts.pop();
    }
    if parts == ["lib"] { "crate".to_owned() } else { parts.join("::") }
}

/// The modules a file imports, without its `#[cfg(test)] mod tests` (which may use anything).
fn imports(module: &str, text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let parent = module.rsplit_once("::").map_or("", |(parent, _)| parent);
    let mut found = BTreeSet::new();
    for line in code.lines().map(str::trim_start) {
        if line.starts_with("//") {
            continue;
        }
        // Every `crate::…` path (imports and paths written out in code), and `super::…` imports.
        let mut paths: Vec<String> =
            line.match_indices("crate::").map(|(at, _)| line[at + 7..].to_owned()).collect();
        if let Some(rest) =
            line.strip_prefix("use super::").or(line.strip_prefix("pub use super::"))
        {
            paths.push(if parent.is_empty() {
                rest.to_owned()
            } else {
                format!("{parent}::{rest}")
            });
        }
        for path in paths {
            let segments: Vec<&str> = path
                .split("::")
                .map(|s| s.trim_end_matches(|c: char| !(c.is_alphanumeric() || c == '_')))
                .collect();
            // The longest known module the path starts with.
            for len in (1..=segments.len()).rev() {
                let candidate = segments[..len].join("::");
                if known.contains(&candidate) {
                    if candidate != module && !module.starts_with(&format!("{candidate}::")) {
                        found.insert(candidate);
                    }
                    break;
                }
            }
        }
    }
    found
}

#[test]
fn no_module_imports_another_that_imports_it_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let modules: BTreeMap<String, String> = rust_files(&src)
        .iter()
        .map(|path| (module_of(&src, path), std::fs::read_to_string(path).unwrap()))
        .collect();
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let graph: BTreeMap<&str, BTreeSet<String>> = modules
        .iter()
        .filter(|(module, _)| module.as_str() != "crate")
        .map(|(module, text)| (module.as_str(), imports(module, text, &known)))
        .collect();
    assert!(graph.len() > 20, "the walk found the modules: {:?}", graph.keys());

    // Depth-first search for a cycle, reporting it whole.
    fn visit<'a>(
        node: &'a str,
        graph: &'a BTreeMap<&'a str, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(start) = path.iter().position(|n| *n == node) {
            panic!("import loop: {} -> {node}", path[start..].join(" -> "));
        }
        if !done.insert(node) {
            return;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            visit(next, graph, path, done);
        }
        path.pop();
    }
    for node in graph.keys() {
        visit(node, &graph, &mut Vec::new(), &mut BTreeSet::new());
    }
    // The same at the level of the crate's top modules (a directory counts as one).
    let top = |module: &str| module.split("::").next().unwrap_or(module).to_owned();
    let mut collapsed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, targets) in &graph {
        let from = top(module);
        let to: Vec<String> = targets.iter().map(|t| top(t)).filter(|t| *t != from).collect();
        collapsed.entry(from).or_default().extend(to);
    }
    let collapsed: BTreeMap<&str, BTreeSet<String>> =
        collapsed.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    for node in collapsed.keys() {
        visit(node, &collapsed, &mut Vec::new(), &mut BTreeSet::new());
    }

    // A directory module holds declarations and re-exports only: its children never import it.
    for (module, targets) in &graph {
        for target in targets {
            assert!(
                !module.starts_with(&format!("{target}::")),
                "{module} imports its parent {target}"
            );
        }
    }
}
