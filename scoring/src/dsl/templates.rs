//! Shipped programs: the two parity twins of built-ins (not served; tests prove they score
//! exactly like `default` and `constantEffortStrategy`) and the four user templates served by
//! `GET /strategies/custom/templates`, sorted by id as GAME sorts its files.

use std::sync::LazyLock;

use serde::Serialize;
use serde_json::Value;

use super::{CustomStrategy, DslKind};
use crate::strategy::StrategyKind;

/// DSL_FULL twin of `default` v0.0.2 (with default variables).
pub const DEFAULT_V0_0_2: &str = include_str!("templates/default_v0_0_2.json");
/// DSL_FULL twin of `constantEffortStrategy` v0.0.1 (with default variables).
pub const CONSTANT_EFFORT_V0_0_1: &str = include_str!("templates/constant_effort_v0_0_1.json");

const USER_FILES: [&str; 4] = [
    include_str!("templates/user/bonus_extiende_default.json"),
    include_str!("templates/user/bonus_por_velocidad.json"),
    include_str!("templates/user/engagement_basico.json"),
    include_str!("templates/user/recompensa_completar_tarea.json"),
];

/// A user template (GAME's `StrategyTemplateRead`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub parent_strategy_id: Option<String>,
    pub ast_json: Value,
    pub blockly_xml: Option<String>,
}

impl Template {
    /// The template's program validated for its type.
    pub fn strategy(&self) -> Result<CustomStrategy, String> {
        let kind = match (self.kind.as_str(), self.parent_strategy_id.as_deref()) {
            ("DSL_FULL", None) => DslKind::Full,
            ("DSL_EXTEND", Some(p)) => DslKind::Extend(
                StrategyKind::from_id(p).ok_or_else(|| format!("unknown parent {p}"))?,
            ),
            (k, p) => return Err(format!("bad template type {k} / parent {p:?}")),
        };
        CustomStrategy::new(&self.ast_json, kind).map_err(|e| e.to_string())
    }
}

static USER_TEMPLATES: LazyLock<Vec<Template>> = LazyLock::new(|| {
    let mut out: Vec<Template> = USER_FILES
        .iter()
        // The files are part of the crate and covered by tests; a broken one is dropped
        // rather than taking the process down.
        .filter_map(|text| serde_json::from_str::<Template>(text).ok())
        .filter_map(|mut t| {
            // Serve the normalised AST (ids filled in), as the editor receives any program.
            let s = t.strategy().ok()?;
            t.ast_json = s.validated().to_json();
            Some(t)
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
});

/// The user templates, validated, sorted by id.
pub fn user_templates() -> &'static [Template] {
    &USER_TEMPLATES
}

/// The number of user template files shipped (for tests: every file must load).
pub const USER_TEMPLATE_FILES: usize = USER_FILES.len();

/// A parity twin as a validated DSL_FULL strategy.
pub fn parity_program(text: &str) -> Result<CustomStrategy, String> {
    let ast: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    CustomStrategy::new(&ast, DslKind::Full).map_err(|e| e.to_string())
}
