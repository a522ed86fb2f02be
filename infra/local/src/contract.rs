//! The generated parts of the committed API contract: docs/openapi.json (from
//! `game_functions::openapi`) and the problem-code table in docs/api.md (from
//! `game_functions::problems`). `game-admin openapi --write` (`make openapi`) rewrites them; the
//! contract test fails while either differs from what the code generates.

use std::path::{Path, PathBuf};

pub const OPENAPI_FILE: &str = "docs/openapi.json";
pub const API_DOC: &str = "docs/api.md";
const TABLE_START: &str = "<!-- problem-codes:start (generated: make openapi) -->\n";
const TABLE_END: &str = "<!-- problem-codes:end -->";

/// The repository root (this crate is infra/local).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// What each generated file must hold: (path under the root, content).
pub fn generated(root: &Path) -> Result<Vec<(&'static str, String)>, String> {
    let spec = game_functions::openapi::to_json()?;
    let api = std::fs::read_to_string(root.join(API_DOC)).map_err(|e| format!("{API_DOC}: {e}"))?;
    let (Some(start), Some(end)) = (api.find(TABLE_START), api.find(TABLE_END)) else {
        return Err(format!(
            "{API_DOC} has no problem-code table markers ({TABLE_START:?} … {TABLE_END:?})"
        ));
    };
    let table = game_functions::problems::markdown_table();
    let api = format!("{}{TABLE_START}{table}{}", &api[..start], &api[end..]);
    Ok(vec![(OPENAPI_FILE, spec), (API_DOC, api)])
}

/// The generated files that differ from what is committed.
pub fn stale(root: &Path) -> Result<Vec<&'static str>, String> {
    Ok(generated(root)?
        .into_iter()
        .filter(|(path, content)| {
            std::fs::read_to_string(root.join(path)).ok().as_ref() != Some(content)
        })
        .map(|(path, _)| path)
        .collect())
}

/// Writes the generated files; answers those that changed.
pub fn write(root: &Path) -> Result<Vec<&'static str>, String> {
    let mut changed = Vec::new();
    for (path, content) in generated(root)? {
        if std::fs::read_to_string(root.join(path)).ok().as_ref() != Some(&content) {
            std::fs::write(root.join(path), content).map_err(|e| format!("{path}: {e}"))?;
            changed.push(path);
        }
    }
    Ok(changed)
}
