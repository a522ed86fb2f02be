//! `game-scoring`: GAME's scoring strategies as pure, deterministic functions.
//!
//! No async, no I/O, no clock, no randomness that is not an input: a decision is a function of
//! the ids, the request `data`, `now`, the effective variables and an analytics snapshot.

pub mod catalog;

pub use catalog::{
    ParamError, StrategyInfo, VarType, VariableSpec, Variables, coerce, resolve_variables,
    strategies, strategy,
};
