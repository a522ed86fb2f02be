//! `game-scoring`: GAME's scoring strategies as pure, deterministic functions.
//!
//! No async, no I/O, no clock, no randomness that is not an input: a decision is a function of
//! the ids, the request `data`, `now`, the effective variables and an analytics snapshot.
//!
//! ```text
//! let info = strategy(id).ok_or(..)?;                       // catalogue (GET /strategies)
//! let vars = resolve_variables(info, &game_params, &task_params)?;
//! let needs = strategy_needs(id).ok_or(..)?;                // load only these aggregates
//! let outcome = score(id, &ScoreInput { .. })?;             // (points, caseName, callbackData)
//! ```
//!
//! Strategy rules, inputs and case names: `docs/strategies.md`.

pub mod analytics;
pub mod branches;
pub mod catalog;
pub mod constant_effort;
pub mod dsl;
pub mod enhanced;
pub mod gi_star;
pub mod greencrowd;
pub mod greengage;
pub mod points;
pub mod strategy;
pub mod time;

pub use analytics::{
    Analytics, MinutesAgg, Need, RECENT_TIMESTAMPS_KEPT, Series, UserGame, UserTaskSeries,
    minutes_of,
};
pub use catalog::{
    ParamError, StrategyInfo, VarType, VariableSpec, Variables, coerce, resolve_variables,
    strategies, strategy,
};
pub use gi_star::Grid;
pub use greencrowd::{ControlGroup, GreencrowdSnapshot, SimulatedTask, Simulation};
pub use points::Points;
pub use strategy::{Outcome, ScoreInput, StrategyError, StrategyKind, score, strategy_needs};
