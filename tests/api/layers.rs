//! The crate's layering: `src/lotus/` imports nothing else of the crate, `src/sim/` imports only `src/lotus/`, and no
//! two top-level modules import each other, directly or through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every top-level module with the crate's top-level modules (or crate-root items) each file of it names as
/// `crate::NAME` or in `use crate::{...}`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" || top == "main" {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let code: String = text
                .lines()
                .map(|l| l.split("//").next().unwrap_or(""))
                .collect::<Vec<_>>()
                .join("\n");
            let deps = graph.entry(top).or_default();
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                if let Some(group) = rest.strip_prefix('{') {
                    let inner = &group[..group.find('}').unwrap_or(group.len())];
                    for item in inner.split(',') {
                        let name = item.trim().split("::").next().unwrap_or("").trim();
                        if !name.is_empty() {
                            deps.insert(name.to_string());
                        }
                    }
                } else {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    deps.insert(name);
                }
            }
        }
    }
    // A name that is no module is an item of the crate root.
    let modules: BTreeSet<String> = graph.keys().cloned().collect();
    for (module, deps) in graph.iter_mut() {
        *deps = deps
            .iter()
            .filter(|d| *d != module)
            .map(|d| {
                if modules.contains(d) {
                    d.clone()
                } else {
                    format!("(crate root: {d})")
                }
            })
            .collect();
    }
    graph
}

#[test]
fn lotus_is_the_bottom_sim_stands_on_it_alone_and_no_modules_import_each_other_in_a_cycle() {
    let graph = imports();
    assert!(graph.len() > 10, "{graph:?}");
    let lotus = &graph["lotus"];
    assert!(lotus.is_empty(), "src/lotus/ imports {lotus:?}");
    let sim: Vec<_> = graph["sim"].iter().filter(|d| *d != "lotus").collect();
    assert!(sim.is_empty(), "src/sim/ imports {sim:?} besides lotus");
    // No module reaches the crate root's items: the root only declares the modules and re-exports.
    for (module, deps) in &graph {
        let root: Vec<_> = deps.iter().filter(|d| d.starts_with("(crate")).collect();
        assert!(root.is_empty(), "{module} imports {root:?}");
    }
    // No cycle: a depth-first walk never meets a module it is still inside.
    fn walk<'a>(
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        module: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(at) = path.iter().position(|m| *m == module) {
            panic!("import cycle: {} -> {module}", path[at..].join(" -> "));
        }
        if !done.insert(module) {
            return;
        }
        path.push(module);
        for dep in graph.get(module).into_iter().flatten() {
            walk(graph, dep, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        walk(&graph, module, &mut Vec::new(), &mut done);
    }
}
