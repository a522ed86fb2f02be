//! The lifecycle rules of custom strategies: what a create, edit, publish, rollback or archive
//! makes of the loaded items, as the exact writes `store::custom::commit` applies.

use super::{
    ARCHIVED, DRAFT, Definition, Family, PUBLISHED, archived, dsl_error, dsl_kind, without_program,
};
use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use game_scoring::dsl::CustomStrategy;
use serde_json::Value;

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2000;
const MAX_TAG: usize = 200;
/// Stored program text and Blockly XML together stay well under DynamoDB's 400 KB item.
pub const MAX_STORED_BYTES: usize = 300_000;

/// One conditional write of a lifecycle change.
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// A version that must not exist yet.
    NewDefinition(Definition),
    /// Replaces a version only if its `rev` is still the one read.
    Definition { def: Definition, expected_rev: u64 },
    /// Replaces the family only if its `rev` is still the one read.
    Family { family: Family, expected_rev: u64 },
}

/// The create/import and update bodies (the wire contract).
pub use crate::wire::custom::{CreateBody, UpdateBody};

pub fn check_text(field: &str, value: Option<&str>, min: usize, max: usize) -> ApiResult<()> {
    if let Some(v) = value {
        let n = v.chars().count();
        if n < min || n > max {
            return Err(ApiError::unprocessable(
                "invalid_field",
                format!("{field} must have {min} to {max} characters, got {n}."),
            ));
        }
    }
    Ok(())
}

/// Validates the program for its type; answers the normalised AST text (`None` without one).
pub fn normalise(
    kind: &str,
    parent: Option<&str>,
    ast: Option<&Value>,
) -> ApiResult<Option<String>> {
    let dsl_kind = dsl_kind(kind, parent)?;
    match ast {
        None | Some(Value::Null) => Ok(None),
        Some(ast) => {
            let strategy = CustomStrategy::new(ast, dsl_kind).map_err(|e| dsl_error(&e))?;
            Ok(Some(strategy.validated().to_json().to_string()))
        }
    }
}

fn check_size(def: &Definition) -> ApiResult<()> {
    let bytes = def.ast_text.as_ref().map_or(0, String::len)
        + def.blockly_xml.as_ref().map_or(0, String::len)
        + def.description.as_ref().map_or(0, String::len);
    if bytes > MAX_STORED_BYTES {
        return Err(ApiError::unprocessable(
            "custom_strategy_too_large",
            format!(
                "The program, Blockly XML and description take {bytes} bytes; at most {MAX_STORED_BYTES} can be stored."
            ),
        ));
    }
    Ok(())
}

pub fn check_name(name: &str) -> ApiResult<()> {
    check_text("name", Some(name), 1, MAX_NAME)?;
    if name.chars().any(char::is_control) || name.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "name must be visible text without control characters.",
        ));
    }
    Ok(())
}

/// Version 1 of a new family (validated), a DRAFT created by `created_by` at `now`.
pub fn new_definition(
    tenant: &TenantId,
    created_by: &str,
    body: CreateBody,
    name: String,
    family_id: String,
    now: &str,
) -> ApiResult<Definition> {
    check_name(&name)?;
    check_text(
        "description",
        body.description.as_deref(),
        0,
        MAX_DESCRIPTION,
    )?;
    check_text("experimentTag", body.experiment_tag.as_deref(), 0, MAX_TAG)?;
    let kind = body.kind.unwrap_or_else(|| "DSL_FULL".to_owned());
    let ast_text = normalise(
        &kind,
        body.parent_strategy_id.as_deref(),
        body.ast_json.as_ref(),
    )?;
    let def = Definition {
        tenant: tenant.to_owned(),
        family_id,
        name,
        description: body.description.filter(|d| !d.is_empty()),
        kind,
        parent_strategy_id: body.parent_strategy_id,
        ast_text,
        blockly_xml: body.blockly_xml.filter(|x| !x.is_empty()),
        version: 1,
        status: DRAFT.to_owned(),
        created_by: created_by.to_owned(),
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
        published_at: None,
        // An empty tag is no tag (DynamoDB Local refuses empty strings in attributes).
        experiment_tag: body.experiment_tag.filter(|t| !t.is_empty()),
        rev: 1,
    };
    check_size(&def)?;
    Ok(def)
}

/// The name an import takes when its own is taken, as GAME does: `"<name> (importada
/// YYYY-MM-DD)"` (validated).
pub fn import_name(name: &str, now: &str) -> ApiResult<String> {
    let today = now.get(..10).unwrap_or(now);
    let renamed = format!("{name} (importada {today})");
    check_name(&renamed)?;
    Ok(renamed)
}

/// The edited definition (validated), updated at `now`. [`plan_update`] decides in place or
/// fork.
pub fn apply_update(current: &Definition, body: &UpdateBody, now: &str) -> ApiResult<Definition> {
    if let Some(name) = &body.name
        && name != &current.name
    {
        return Err(ApiError::unprocessable(
            "name_immutable",
            "A custom strategy's name names its family of versions and cannot change; create a new strategy instead.",
        ));
    }
    check_text(
        "description",
        body.description.as_deref(),
        0,
        MAX_DESCRIPTION,
    )?;
    check_text("experimentTag", body.experiment_tag.as_deref(), 0, MAX_TAG)?;
    let mut def = current.clone();
    if let Some(d) = &body.description {
        def.description = Some(d.clone()).filter(|d| !d.is_empty());
    }
    if let Some(k) = &body.kind {
        def.kind.clone_from(k);
    }
    if let Some(p) = &body.parent_strategy_id {
        def.parent_strategy_id.clone_from(p);
    }
    if let Some(x) = &body.blockly_xml {
        def.blockly_xml = Some(x.clone()).filter(|x| !x.is_empty());
    }
    if let Some(t) = &body.experiment_tag {
        def.experiment_tag = Some(t.clone()).filter(|t| !t.is_empty());
    }
    let ast = match &body.ast_json {
        Some(ast) => Some(ast.clone()),
        None => current
            .ast_text
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok()),
    };
    def.ast_text = normalise(&def.kind, def.parent_strategy_id.as_deref(), ast.as_ref())?;
    def.updated_at = now.to_owned();
    check_size(&def)?;
    Ok(def)
}

/// An edit of `current` by `editor`: a DRAFT changes in place; a PUBLISHED version forks a new
/// DRAFT at the family's next version (the published one stays); an archived one refuses.
pub fn plan_update(
    current: &Definition,
    family: &Family,
    body: &UpdateBody,
    editor: &str,
    now: &str,
    id: &str,
) -> ApiResult<(Definition, Vec<Write>)> {
    let mut def = apply_update(current, body, now)?;
    let writes = match current.status.as_str() {
        DRAFT => {
            def.rev = current.rev + 1;
            vec![Write::Definition {
                def: def.clone(),
                expected_rev: current.rev,
            }]
        }
        PUBLISHED => {
            let mut next_family = family.clone();
            next_family.max_version += 1;
            next_family.rev += 1;
            def.version = next_family.max_version;
            def.status = DRAFT.to_owned();
            def.published_at = None;
            def.created_by = editor.to_owned();
            def.created_at = def.updated_at.clone();
            def.rev = 1;
            vec![
                Write::Family {
                    family: next_family,
                    expected_rev: family.rev,
                },
                Write::NewDefinition(def.clone()),
            ]
        }
        _ => return Err(archived(id)),
    };
    Ok((def, writes))
}

/// Whether `target` needs publishing: `Ok(false)` when it already is the published version
/// (publishing is idempotent); archived versions and versions without a program refuse.
pub fn publishable(target: &Definition, id: &str) -> ApiResult<bool> {
    match target.status.as_str() {
        PUBLISHED => return Ok(false),
        ARCHIVED => return Err(archived(id)),
        _ => {}
    }
    if target.ast_text.is_none() {
        return Err(without_program(
            "This custom strategy has no program (astJson); add one before publishing.",
        ));
    }
    Ok(true)
}

/// The version a rollback to `version` publishes, or why it cannot.
pub fn plan_rollback(
    family: &Family,
    target: Option<Definition>,
    version: u64,
    id: &str,
) -> ApiResult<Definition> {
    let target = target.ok_or_else(|| {
        ApiError::not_found(
            "custom_strategy_version_not_found",
            format!("Version {version} does not exist in the family of custom strategy {id}."),
        )
    })?;
    if family.published_version == Some(version) {
        return Err(ApiError::conflict(
            "custom_strategy_already_published",
            format!("Version {version} is already the published version."),
        ));
    }
    if target.ast_text.is_none() {
        return Err(without_program(
            "That version has no program (astJson) to publish.",
        ));
    }
    Ok(target)
}

/// The writes that publish `target` at `now`, archiving `displaced` (the family's published
/// version, if any). Answers the promoted version.
pub fn plan_publish(
    target: &Definition,
    displaced: Option<&Definition>,
    family: &Family,
    now: &str,
) -> (Definition, Vec<Write>) {
    let mut promoted = target.clone();
    promoted.status = PUBLISHED.to_owned();
    promoted.published_at = Some(now.to_owned());
    promoted.updated_at = now.to_owned();
    promoted.rev += 1;
    let mut next_family = family.clone();
    next_family.publish(&promoted);
    next_family.rev += 1;
    let mut writes = vec![
        Write::Family {
            family: next_family,
            expected_rev: family.rev,
        },
        Write::Definition {
            def: promoted.clone(),
            expected_rev: target.rev,
        },
    ];
    if let Some(d) = displaced {
        let mut a = d.clone();
        a.status = ARCHIVED.to_owned();
        a.updated_at = now.to_owned();
        a.rev += 1;
        writes.push(Write::Definition {
            def: a,
            expected_rev: d.rev,
        });
    }
    (promoted, writes)
}

/// The writes that archive `current` at `now`; `None` when it already is archived.
pub fn plan_archive(
    current: &Definition,
    family: &Family,
    now: &str,
) -> Option<(Definition, Vec<Write>)> {
    if current.status == ARCHIVED {
        return None;
    }
    let mut def = current.clone();
    def.status = ARCHIVED.to_owned();
    def.updated_at = now.to_owned();
    def.rev += 1;
    let mut writes = vec![Write::Definition {
        def: def.clone(),
        expected_rev: current.rev,
    }];
    if family.published_version == Some(current.version) {
        // Archiving the published version leaves the family with nothing to run.
        let mut next_family = family.clone();
        next_family.unpublish();
        next_family.rev += 1;
        writes.push(Write::Family {
            family: next_family,
            expected_rev: family.rev,
        });
    }
    Some((def, writes))
}
