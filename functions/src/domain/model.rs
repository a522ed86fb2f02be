//! Domain types and the pure rules that validate and change them.

use crate::error::{ApiError, ApiResult};
use serde_json::Value;

pub use crate::store::games::{Game, Param, Task};

pub const DEFAULT_STRATEGY: &str = "default";
pub use crate::store::games::TASK_OPEN;
pub const MAX_PARAMS: usize = 100;

/// A parameter as clients send it on create (`id` absent) or on update (`id` names one to change).
pub use crate::wire::ParamInput;

/// Which JSON values a parameter may hold: games as GAME (scalars), tasks also objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamOwner {
    Game,
    Task,
}

pub fn validate_text(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.trim().is_empty() || value.chars().count() > max {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("{field} must be a non-empty text of at most {max} characters."),
        ));
    }
    Ok(())
}

/// Resolves a strategy id against the built-in registry.
pub fn known_strategy(id: &str) -> ApiResult<&'static game_scoring::StrategyInfo> {
    game_scoring::strategy(id).ok_or_else(|| {
        ApiError::unprocessable(
            "unknown_strategy",
            format!(
                "Strategy \"{id}\" does not exist; GET /api/v1/strategies lists the available ones."
            ),
        )
    })
}

/// Whether DynamoDB can hold a parameter value as a typed attribute: no empty string (value or
/// key, at any depth) and numbers within its range (magnitudes 1e-130 to 1e126, or zero).
fn storable(value: &Value) -> bool {
    match value {
        Value::String(text) => !text.is_empty(),
        Value::Number(number) => number
            .as_f64()
            .is_some_and(|x| x == 0.0 || (x.is_finite() && (1e-130..1e126).contains(&x.abs()))),
        Value::Array(items) => items.iter().all(storable),
        Value::Object(map) => map.iter().all(|(k, v)| !k.is_empty() && storable(v)),
        Value::Bool(_) | Value::Null => true,
    }
}

fn check_param_value(owner: ParamOwner, key: &str, value: &Value) -> ApiResult<()> {
    if !storable(value) {
        return Err(ApiError::unprocessable(
            "invalid_param",
            format!(
                "Parameter \"{key}\" holds an empty string or a number beyond ±1e126 (or nearer zero than 1e-130), which cannot be stored."
            ),
        ));
    }
    let allowed = match value {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => true,
        Value::Object(_) => owner == ParamOwner::Task,
        Value::Null | Value::Array(_) => false,
    };
    if allowed {
        Ok(())
    } else {
        let kinds = match owner {
            ParamOwner::Game => "a string, a number or a boolean",
            ParamOwner::Task => "a string, a number, a boolean or an object",
        };
        Err(ApiError::unprocessable(
            "invalid_param",
            format!("The value of parameter \"{key}\" must be {kinds}."),
        ))
    }
}

/// Validates a complete parameter list (size, keys, value kinds, no duplicate keys).
pub fn validate_params(owner: ParamOwner, params: &[Param]) -> ApiResult<()> {
    if params.len() > MAX_PARAMS {
        return Err(ApiError::unprocessable(
            "too_many_params",
            format!("At most {MAX_PARAMS} parameters are allowed."),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for param in params {
        validate_text("A parameter key", &param.key, 100)?;
        check_param_value(owner, &param.key, &param.value)?;
        if !seen.insert(param.key.as_str()) {
            return Err(ApiError::unprocessable(
                "duplicate_param",
                format!("Parameter \"{}\" appears more than once.", param.key),
            ));
        }
    }
    Ok(())
}

/// Fresh parameters from create input (ids assigned here; any id sent is ignored).
pub fn new_params(input: Vec<ParamInput>) -> Vec<Param> {
    input
        .into_iter()
        .map(|p| Param {
            id: crate::ids::new_id(),
            key: p.key,
            value: p.value,
        })
        .collect()
}

/// Copies parameters under new ids (duplication).
pub fn copy_params(params: &[Param]) -> Vec<Param> {
    params
        .iter()
        .map(|p| Param {
            id: crate::ids::new_id(),
            ..p.clone()
        })
        .collect()
}

/// GAME's game PATCH: each entry names an existing parameter by id and replaces its key and value.
pub fn patch_params_by_id(current: &[Param], patch: &[ParamInput]) -> ApiResult<Vec<Param>> {
    let mut params = current.to_vec();
    for entry in patch {
        let Some(id) = entry.id.as_deref() else {
            return Err(ApiError::unprocessable(
                "invalid_param",
                "Every parameter in a game PATCH needs the id of the parameter it changes.",
            ));
        };
        let Some(target) = params.iter_mut().find(|p| p.id == id) else {
            return Err(ApiError::unprocessable(
                "unknown_param_id",
                format!("This game has no parameter with id \"{id}\"."),
            ));
        };
        target.key.clone_from(&entry.key);
        target.value = entry.value.clone();
    }
    Ok(params)
}

/// GAME's task PATCH: the list is the complete desired set. Known ids are updated,
/// entries without an id are created, parameters left out are removed.
pub fn replace_params(current: &[Param], desired: Vec<ParamInput>) -> ApiResult<Vec<Param>> {
    desired
        .into_iter()
        .map(|entry| match entry.id {
            Some(id) if current.iter().any(|p| p.id == id) => Ok(Param {
                id,
                key: entry.key,
                value: entry.value,
            }),
            Some(id) => Err(ApiError::unprocessable(
                "unknown_param_id",
                format!("This task has no parameter with id \"{id}\"."),
            )),
            None => Ok(Param {
                id: crate::ids::new_id(),
                key: entry.key,
                value: entry.value,
            }),
        })
        .collect()
}

fn as_pairs(params: &[Param]) -> Vec<(&str, &Value)> {
    params.iter().map(|p| (p.key.as_str(), &p.value)).collect()
}

/// The strategy's variables after game params, then task params (task wins), are applied.
pub fn effective_variables(
    info: &game_scoring::StrategyInfo,
    game_params: &[Param],
    task_params: &[Param],
) -> ApiResult<game_scoring::Variables> {
    game_scoring::resolve_variables(info, &as_pairs(game_params), &as_pairs(task_params)).map_err(
        |error| {
            ApiError::unprocessable("invalid_param", error.message.clone()).with("param", error.key)
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param(id: &str, key: &str, value: Value) -> Param {
        Param {
            id: id.into(),
            key: key.into(),
            value,
        }
    }

    #[test]
    fn task_ids_must_fit_a_path_segment() {
        assert!(crate::ids::TaskId::parse("Task 1 (north)").is_ok());
        for bad in ["", "a/b", " lead", "x?y", "50%", "tab\t"] {
            assert!(crate::ids::TaskId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn params_reject_duplicates_and_wrong_kinds() {
        let dup = [param("1", "k", json!(1)), param("2", "k", json!(2))];
        assert_eq!(
            validate_params(ParamOwner::Game, &dup).unwrap_err().code,
            "duplicate_param"
        );
        let object = [param("1", "k", json!({"a": 1}))];
        assert!(validate_params(ParamOwner::Game, &object).is_err());
        assert!(validate_params(ParamOwner::Task, &object).is_ok());
        assert!(validate_params(ParamOwner::Task, &[param("1", "k", Value::Null)]).is_err());
    }

    #[test]
    fn game_patch_changes_only_named_params() {
        let current = vec![param("a", "x", json!(1)), param("b", "y", json!(2))];
        let patch = [ParamInput {
            id: Some("b".into()),
            key: "y".into(),
            value: json!(5),
        }];
        let patched = patch_params_by_id(&current, &patch).unwrap();
        assert_eq!(
            patched,
            vec![param("a", "x", json!(1)), param("b", "y", json!(5))]
        );
        let unknown = [ParamInput {
            id: Some("zz".into()),
            key: "y".into(),
            value: json!(5),
        }];
        assert_eq!(
            patch_params_by_id(&current, &unknown).unwrap_err().code,
            "unknown_param_id"
        );
    }

    #[test]
    fn task_patch_is_the_complete_set() {
        let current = vec![param("a", "x", json!(1)), param("b", "y", json!(2))];
        let desired = vec![
            ParamInput {
                id: Some("a".into()),
                key: "x".into(),
                value: json!(10),
            },
            ParamInput {
                id: None,
                key: "z".into(),
                value: json!("new"),
            },
        ];
        let replaced = replace_params(&current, desired).unwrap();
        assert_eq!(replaced.len(), 2);
        assert_eq!(replaced[0], param("a", "x", json!(10)));
        assert_eq!(replaced[1].key, "z");
        assert_ne!(replaced[1].id, "b");
    }
}
