//! The OpenAPI document names each body's schema by its Rust type's name alone, so two types of
//! one name (in different modules) become one schema, and one of the two operations is then
//! documented with the other's body. Every type the document describes must have a name of its
//! own.

use std::collections::BTreeMap;
use std::path::Path;

/// Each `ToSchema` type's name, with where it is declared.
fn schema_types(dir: &Path, out: &mut BTreeMap<String, Vec<String>>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            schema_types(&path, out);
            continue;
        }
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let mut derives_schema = false;
        for (n, line) in source.lines().enumerate() {
            let line = line.trim();
            if line.starts_with("#[derive(") {
                derives_schema = line.contains("ToSchema");
                continue;
            }
            if line.starts_with("#[") || line.starts_with("///") || line.starts_with("//") {
                continue;
            }
            if derives_schema {
                let declared = line
                    .trim_start_matches("pub(crate) ")
                    .trim_start_matches("pub ")
                    .strip_prefix("struct ")
                    .or_else(|| line.trim_start_matches("pub ").strip_prefix("enum "));
                if let Some(rest) = declared {
                    let name: String = rest
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    out.entry(name)
                        .or_default()
                        .push(format!("{}:{}", path.display(), n + 1));
                }
            }
            derives_schema = false;
        }
    }
}

#[test]
fn every_documented_type_has_a_name_of_its_own() {
    let mut types = BTreeMap::new();
    schema_types(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut types,
    );
    assert!(types.len() > 50, "{} documented types found", types.len());
    let shared: Vec<String> = types
        .iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|(name, at)| format!("{name}: {}", at.join(", ")))
        .collect();
    assert!(shared.is_empty(), "one name, several types: {shared:#?}");
}
