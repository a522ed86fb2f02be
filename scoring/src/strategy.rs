//! The scoring entry point: which analytics a strategy needs, and the decision itself.
//!
//! An award route does:
//! ```text
//! let needs = strategy_needs(&task.strategy_id).ok_or(...)?;   // what to load
//! let analytics = store.load(needs, ...).await?;                 // one BatchGetItem
//! let vars = resolve_variables(info, &game_params, &task_params)?;
//! let outcome = score(&task.strategy_id, &ScoreInput { ... })?;  // pure
//! ```

use std::fmt;

use serde_json::Value;

use crate::analytics::{Analytics, Need};
use crate::catalog::Variables;
use crate::points::Points;
use crate::{constant_effort, enhanced, gi_star, greencrowd, greengage};

/// Everything a decision depends on. Nothing else is read: no clock, no randomness, no I/O.
#[derive(Debug, Clone, Copy)]
pub struct ScoreInput<'a> {
    /// `externalGameId`.
    pub game_id: &'a str,
    /// `externalTaskId`.
    pub task_id: &'a str,
    /// `externalUserId`.
    pub user_id: &'a str,
    /// The request's `data` object (`Value::Null` when absent).
    pub data: &'a Value,
    /// The decision time, µs since the Unix epoch (UTC). GAME used the database's `now()`.
    pub now_us: i64,
    /// Effective variables from [`crate::resolve_variables`] for this strategy.
    pub variables: &'a Variables,
    /// The task's params (key, value); `getis_ord_gi_star` reads the task's grid cell here.
    pub task_params: &'a [(&'a str, &'a Value)],
    /// The aggregates listed by [`strategy_needs`], as they were before this award.
    pub analytics: &'a Analytics,
    /// greencrowd only: the HMAC-SHA256 key that signs simulations (GAME's `SECRET_KEY`).
    pub simulation_key: &'a [u8],
    /// greencrowd only: the seed of the `random_range` control group's RNG. Derive it from
    /// something stable for the award (e.g. a hash of game, user and idempotency key) so a
    /// replay draws the same numbers.
    pub rng_seed: u64,
}

/// A decision: GAME's `(points, caseName, callbackData?)`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub points: Points,
    pub case_name: &'static str,
    /// Stored by the award route in `data.callbackData` when present (GAME §5.1 step 9).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_data: Option<Value>,
}

impl Outcome {
    pub(crate) fn new(points: Points, case_name: &'static str) -> Outcome {
        Outcome {
            points,
            case_name,
            callback_data: None,
        }
    }
}

/// Why a strategy could not decide. GAME's `-1` sentinel is [`StrategyError::InvalidData`].
#[derive(Debug, Clone, PartialEq)]
pub enum StrategyError {
    /// No built-in strategy has this id (GAME: 404 "Strategy not found").
    UnknownStrategy(String),
    /// The request `data` is invalid for this strategy; the text is GAME's caseName message
    /// (GAME returned `(-1, message)` and the endpoint answered 422 with it as detail).
    InvalidData(String),
    /// The task's params do not configure this strategy (e.g. Gi* without a grid cell).
    InvalidTaskParams(String),
    /// An effective variable is outside the strategy's domain (e.g. `max_points` = 0).
    InvalidVariable { name: &'static str, message: String },
    /// The variables were resolved for another strategy than the one scoring.
    VariablesMismatch {
        strategy: &'static str,
        variables_for: &'static str,
    },
    /// A needed aggregate was not loaded (a caller bug: see [`strategy_needs`]).
    MissingAnalytics(Need),
    /// The snapshot contradicts itself (a caller bug).
    InvalidSnapshot(String),
    /// greencrowd needs [`ScoreInput::simulation_key`] and it is empty.
    MissingSimulationKey,
    /// The points do not fit the exact representation (only with absurd variables).
    Overflow,
}

impl StrategyError {
    /// True when the client (request data, task/game params) caused it: answer 422 with
    /// [`fmt::Display`] as detail. False for caller bugs (500) and unknown ids (404).
    pub fn is_client_error(&self) -> bool {
        matches!(
            self,
            StrategyError::InvalidData(_)
                | StrategyError::InvalidTaskParams(_)
                | StrategyError::InvalidVariable { .. }
                | StrategyError::Overflow
        )
    }
}

impl fmt::Display for StrategyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StrategyError::UnknownStrategy(id) => write!(f, "Strategy not found with id: {id}"),
            StrategyError::InvalidData(m) | StrategyError::InvalidTaskParams(m) => f.write_str(m),
            StrategyError::InvalidVariable { message, .. } => f.write_str(message),
            StrategyError::VariablesMismatch {
                strategy,
                variables_for,
            } => write!(
                f,
                "Variables resolved for strategy {variables_for} cannot score strategy {strategy}."
            ),
            StrategyError::MissingAnalytics(n) => {
                write!(f, "The analytics aggregate {n:?} was not loaded.")
            }
            StrategyError::InvalidSnapshot(m) => write!(f, "Inconsistent analytics snapshot: {m}"),
            StrategyError::MissingSimulationKey => {
                f.write_str("greencrowdStrategy needs a simulation signing key.")
            }
            StrategyError::Overflow => {
                f.write_str("The points computed from these variables are out of range.")
            }
        }
    }
}

impl std::error::Error for StrategyError {}

/// The built-in strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StrategyKind {
    Default,
    SocioBee,
    ConstantEffort,
    Greengage,
    Greencrowd,
    GetisOrdGiStar,
}

impl StrategyKind {
    pub const ALL: [StrategyKind; 6] = [
        StrategyKind::Default,
        StrategyKind::SocioBee,
        StrategyKind::ConstantEffort,
        StrategyKind::Greengage,
        StrategyKind::Greencrowd,
        StrategyKind::GetisOrdGiStar,
    ];

    pub fn from_id(id: &str) -> Option<StrategyKind> {
        Some(match id {
            "default" => StrategyKind::Default,
            "socio_bee" => StrategyKind::SocioBee,
            "constantEffortStrategy" => StrategyKind::ConstantEffort,
            "greengageStrategy" => StrategyKind::Greengage,
            "greencrowdStrategy" => StrategyKind::Greencrowd,
            "getis_ord_gi_star" => StrategyKind::GetisOrdGiStar,
            _ => return None,
        })
    }

    pub fn id(self) -> &'static str {
        match self {
            StrategyKind::Default => "default",
            StrategyKind::SocioBee => "socio_bee",
            StrategyKind::ConstantEffort => "constantEffortStrategy",
            StrategyKind::Greengage => "greengageStrategy",
            StrategyKind::Greencrowd => "greencrowdStrategy",
            StrategyKind::GetisOrdGiStar => "getis_ord_gi_star",
        }
    }

    /// The aggregates this strategy reads; load these and nothing else.
    pub fn needs(self) -> &'static [Need] {
        match self {
            StrategyKind::Default | StrategyKind::SocioBee => enhanced::NEEDS,
            StrategyKind::ConstantEffort => constant_effort::NEEDS,
            StrategyKind::Greengage => greengage::NEEDS,
            StrategyKind::Greencrowd => greencrowd::NEEDS,
            StrategyKind::GetisOrdGiStar => gi_star::NEEDS,
        }
    }

    /// Every case name this strategy can return (for documentation, dashboards and tests).
    pub fn case_names(self) -> &'static [&'static str] {
        match self {
            StrategyKind::Default | StrategyKind::SocioBee => enhanced::CASES,
            StrategyKind::ConstantEffort => constant_effort::CASES,
            StrategyKind::Greengage => greengage::CASES,
            StrategyKind::Greencrowd => greencrowd::CASES,
            StrategyKind::GetisOrdGiStar => gi_star::CASES,
        }
    }
}

/// The aggregates strategy `id` reads, or `None` for an unknown id.
pub fn strategy_needs(id: &str) -> Option<&'static [Need]> {
    StrategyKind::from_id(id).map(StrategyKind::needs)
}

/// Score one award with strategy `id`.
pub fn score(id: &str, input: &ScoreInput<'_>) -> Result<Outcome, StrategyError> {
    let kind =
        StrategyKind::from_id(id).ok_or_else(|| StrategyError::UnknownStrategy(id.to_string()))?;
    if input.variables.strategy_id() != kind.id() {
        return Err(StrategyError::VariablesMismatch {
            strategy: kind.id(),
            variables_for: input.variables.strategy_id(),
        });
    }
    match kind {
        StrategyKind::Default | StrategyKind::SocioBee => enhanced::score(input),
        StrategyKind::ConstantEffort => constant_effort::score(input),
        StrategyKind::Greengage => greengage::score(input),
        StrategyKind::Greencrowd => greencrowd::score(input),
        StrategyKind::GetisOrdGiStar => gi_star::score(input),
    }
}

/// An int variable by declaration index (resolution already type-checked it).
pub(crate) fn int_var(vars: &Variables, i: usize) -> Result<i64, StrategyError> {
    let (name, v) = vars.entry(i).unwrap_or(("?", &Value::Null));
    v.as_i64().ok_or_else(|| StrategyError::InvalidVariable {
        name,
        message: format!("Variable \"{name}\" must be an int."),
    })
}

/// A float variable by declaration index.
pub(crate) fn float_var(vars: &Variables, i: usize) -> Result<f64, StrategyError> {
    let (name, v) = vars.entry(i).unwrap_or(("?", &Value::Null));
    v.as_f64()
        .filter(|f| f.is_finite())
        .ok_or_else(|| StrategyError::InvalidVariable {
            name,
            message: format!("Variable \"{name}\" must be a finite float."),
        })
}

pub(crate) fn need<T>(field: &Option<T>, need: Need) -> Result<&T, StrategyError> {
    field.as_ref().ok_or(StrategyError::MissingAnalytics(need))
}
