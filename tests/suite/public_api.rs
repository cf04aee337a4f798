//! The public API names the crate's own types, std's, http's and serde's, and no other
//! dependency's: a dependency can then change, or be replaced, without breaking a user. Every
//! `pub` item of `src/` (signatures, fields, variants, aliases, traits, trait impls) is read with
//! `syn`, each type path resolved through the file's `use` declarations. The framework glue
//! modules (`axum`, `tonic`) exist to speak their framework's types and are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use syn::visit::Visit;

use crate::common::rust_files;

/// Crates whose types may appear: the standard library, and the crate's chosen vocabulary.
const ALLOWED_CRATES: &[&str] = &["std", "core", "alloc", "http", "serde"];

/// Paths of other crates that may appear, and why.
const EXCEPTIONS: &[(&str, &str)] = &[
    // A Tower middleware is a `Layer` and a `Service`: these traits are what it is.
    ("tower_layer::Layer", "the layer implements Tower's trait"),
    ("tower_service::Service", "the service implements Tower's trait"),
    // Glue by design: a store on the application's own redis-rs connection, however configured.
    ("redis::aio::ConnectionLike", "RedisRevocations::from_connection"),
];

/// Files that are framework glue, by design in their framework's terms.
const GLUE: &[&str] = &["axum.rs", "tonic.rs"];

/// The crate names of `[dependencies]` in Cargo.toml, as Rust spells them.
fn dependencies() -> BTreeSet<String> {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let section = manifest.split("[dependencies]").nth(1).unwrap();
    let section = section.split("\n[").next().unwrap();
    section
        .lines()
        .filter_map(|line| line.split_once('=').map(|(name, _)| name.trim()))
        .filter(|name| !name.is_empty() && !name.starts_with('#'))
        .map(|name| name.replace('-', "_"))
        .collect()
}

/// What a file's `use` declarations bring into scope: name → full path.
fn uses(tree: &syn::UseTree, prefix: &str, out: &mut BTreeMap<String, String>) {
    let join =
        |name: &str| if prefix.is_empty() { name.to_owned() } else { format!("{prefix}::{name}") };
    match tree {
        syn::UseTree::Path(path) => uses(&path.tree, &join(&path.ident.to_string()), out),
        syn::UseTree::Name(name) => {
            let name = name.ident.to_string();
            let full = if name == "self" { prefix.to_owned() } else { join(&name) };
            let local = full.rsplit("::").next().unwrap().to_owned();
            out.insert(local, full);
        }
        syn::UseTree::Rename(rename) => {
            out.insert(rename.rename.to_string(), join(&rename.ident.to_string()));
        }
        syn::UseTree::Group(group) => group.items.iter().for_each(|item| uses(item, prefix, out)),
        syn::UseTree::Glob(_) => {}
    }
}

/// Collects every path a piece of public API names.
struct Paths<'a> {
    uses: &'a BTreeMap<String, String>,
    dependencies: &'a BTreeSet<String>,
    context: String,
    found: &'a mut Vec<String>,
}

impl Paths<'_> {
    fn check(&mut self, path: &syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let Some(first) = segments.first() else { return };
        let resolved = match self.uses.get(first) {
            Some(full) => {
                let rest = segments[1..].join("::");
                if rest.is_empty() { full.clone() } else { format!("{full}::{rest}") }
            }
            None => segments.join("::"),
        };
        let root = resolved.split("::").next().unwrap_or_default().trim_start_matches("::");
        let foreign = self.dependencies.contains(root) && !ALLOWED_CRATES.contains(&root);
        if foreign && !EXCEPTIONS.iter().any(|(allowed, _)| resolved == *allowed) {
            self.found.push(format!("{}: {resolved}", self.context));
        }
    }
}

impl<'ast> Visit<'ast> for Paths<'_> {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        self.check(path);
        syn::visit::visit_path(self, path);
    }

    // Function bodies are not API.
    fn visit_block(&mut self, _: &'ast syn::Block) {}
}

fn is_pub(vis: &syn::Visibility) -> bool {
    matches!(vis, syn::Visibility::Public(_))
}

fn is_test(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr.meta.require_list().is_ok_and(|list| list.tokens.to_string().contains("test"))
    })
}

/// Called with a piece of public API (named for the report) and how to visit it.
type Visitor<'v> = dyn FnMut(&str, &dyn Fn(&mut Paths<'_>)) + 'v;

/// The public API an item declares, each piece visited with `visit`.
fn public_items(items: &[syn::Item], visit: &mut Visitor<'_>) {
    for item in items {
        match item {
            syn::Item::Fn(f) if is_pub(&f.vis) => {
                visit(&format!("fn {}", f.sig.ident), &|p| p.visit_signature(&f.sig));
            }
            syn::Item::Struct(s) if is_pub(&s.vis) => {
                visit(&format!("struct {}", s.ident), &|p| p.visit_generics(&s.generics));
                for field in s.fields.iter().filter(|field| is_pub(&field.vis)) {
                    visit(&format!("field of {}", s.ident), &|p| p.visit_type(&field.ty));
                }
            }
            syn::Item::Enum(e) if is_pub(&e.vis) => {
                visit(&format!("enum {}", e.ident), &|p| p.visit_generics(&e.generics));
                for variant in &e.variants {
                    for field in &variant.fields {
                        visit(&format!("{}::{}", e.ident, variant.ident), &|p| {
                            p.visit_type(&field.ty)
                        });
                    }
                }
            }
            syn::Item::Type(t) if is_pub(&t.vis) => {
                visit(&format!("type {}", t.ident), &|p| p.visit_item_type(t));
            }
            syn::Item::Const(c) if is_pub(&c.vis) => {
                visit(&format!("const {}", c.ident), &|p| p.visit_type(&c.ty));
            }
            syn::Item::Trait(t) if is_pub(&t.vis) => {
                visit(&format!("trait {}", t.ident), &|p| p.visit_item_trait(t));
            }
            syn::Item::Impl(i) if !is_test(&i.attrs) => {
                let name = quote_type(&i.self_ty);
                match &i.trait_ {
                    // A trait impl is public wherever its type is: the trait and its arguments.
                    Some((_, path, _)) => {
                        visit(&format!("impl for {name}"), &|p| p.visit_path(path));
                    }
                    None => {
                        for inner in &i.items {
                            if let syn::ImplItem::Fn(f) = inner
                                && is_pub(&f.vis)
                            {
                                visit(&format!("{name}::{}", f.sig.ident), &|p| {
                                    p.visit_signature(&f.sig)
                                });
                            }
                        }
                    }
                }
            }
            syn::Item::Mod(m) if !is_test(&m.attrs) => {
                if let Some((_, items)) = &m.content {
                    public_items(items, visit);
                }
            }
            _ => {}
        }
    }
}

fn quote_type(ty: &syn::Type) -> String {
    match ty {
        syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()).unwrap(),
        _ => "a type".to_owned(),
    }
}

/// The dependency paths `file`'s public items name, each reported as `prefix` and the item,
/// and how many public items there were.
fn dependency_paths(
    file: &syn::File,
    prefix: &str,
    dependencies: &BTreeSet<String>,
) -> (Vec<String>, usize) {
    let mut scope = BTreeMap::new();
    for item in &file.items {
        if let syn::Item::Use(import) = item {
            uses(&import.tree, "", &mut scope);
        }
    }
    let (mut found, mut items) = (Vec::new(), 0);
    public_items(&file.items, &mut |context, visit| {
        items += 1;
        let mut paths = Paths {
            uses: &scope,
            dependencies,
            context: format!("{prefix}{context}"),
            found: &mut found,
        };
        visit(&mut paths);
    });
    (found, items)
}

#[test]
fn no_dependency_type_appears_in_the_public_api() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let dependencies = dependencies();
    assert!(dependencies.contains("jsonwebtoken") && dependencies.contains("redis"));
    let mut found = Vec::new();
    let mut items_seen = 0;
    for path in rust_files(&src).iter().filter(|path| !GLUE.iter().any(|glue| path.ends_with(glue)))
    {
        let text = std::fs::read_to_string(path).unwrap();
        let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.strip_prefix(&src).unwrap().display();
        let (paths, items) = dependency_paths(&file, &format!("{name}: "), &dependencies);
        found.extend(paths);
        items_seen += items;
    }
    assert!(items_seen > 200, "the walk found the public items: {items_seen}");
    assert!(found.is_empty(), "dependency types in the public API:\n{}", found.join("\n"));
}

/// The check itself sees a dependency's type, however it is brought in.
#[test]
fn the_check_finds_a_dependency_type() {
    let text = r#"
        use redis::aio::ConnectionManager;
        use tokio::time as clock;
        pub struct Store { pub connection: ConnectionManager, private: u8 }
        pub fn sleep() -> clock::Sleep { body() }
        pub fn token() -> jsonwebtoken::Header { body() }
        pub fn fine(request: http::Request<()>) -> std::time::Duration { body() }
        impl From<redis::RedisError> for Store { fn from(_: redis::RedisError) -> Self { body() } }
    "#;
    let file = syn::parse_file(text).unwrap();
    let (found, _) = dependency_paths(&file, "", &dependencies());
    assert_eq!(
        found,
        [
            "field of Store: redis::aio::ConnectionManager",
            "fn sleep: tokio::time::Sleep",
            "fn token: jsonwebtoken::Header",
            "impl for Store: redis::RedisError",
        ]
    );
}
