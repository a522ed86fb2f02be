//! What a strategy scores on, assembled once for the award and the simulator alike: its
//! variables (defaults < game params < task params) and the analytics its needs name.

use crate::domain::greencrowd;
use crate::domain::model::{self, Param};
use crate::error::ApiResult;
use crate::store::award::Aggregates;
use game_scoring::dsl::CustomStrategy;
use game_scoring::{Analytics, Grid, Need, Variables};
use serde_json::Value;

/// The strategy a task runs: built in by id, or a custom program.
#[derive(Clone, Copy)]
pub enum Scoring<'a> {
    BuiltIn(&'a str),
    Custom(&'a CustomStrategy),
}

impl Scoring<'_> {
    /// The variables it reads: a built-in strategy's, or a DSL_EXTEND program's parent's;
    /// a DSL_FULL program reads the default strategy's defaults and no params.
    pub fn variables(&self, game_params: &[Param], task_params: &[Param]) -> ApiResult<Variables> {
        match self {
            Scoring::BuiltIn(id) => {
                model::effective_variables(model::known_strategy(id)?, game_params, task_params)
            }
            Scoring::Custom(strategy) => match strategy.kind().parent() {
                Some(parent) => model::effective_variables(
                    model::known_strategy(parent.id())?,
                    game_params,
                    task_params,
                ),
                None => Ok(model::known_strategy(model::DEFAULT_STRATEGY)?.default_variables()),
            },
        }
    }

    pub fn needs(&self) -> Vec<Need> {
        match self {
            Scoring::BuiltIn(id) => game_scoring::strategy_needs(id).unwrap_or(&[]).to_vec(),
            Scoring::Custom(strategy) => strategy.needs(),
        }
    }
}

/// The task's params as the strategies read them.
pub fn param_pairs(params: &[Param]) -> Vec<(&str, &Value)> {
    params.iter().map(|p| (p.key.as_str(), &p.value)).collect()
}

/// greencrowd was needed but its state could not be loaded (no such game).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GreencrowdMissing;

/// The analytics `needs` name, from the loaded aggregates; `cell` is the task's grid cell.
pub fn analytics(
    needs: &[Need],
    aggregates: &Aggregates,
    cell: Option<(usize, usize)>,
) -> Result<Analytics, GreencrowdMissing> {
    let mut analytics = Analytics::default();
    for need in needs {
        match need {
            Need::TaskSeries => analytics.task = Some(aggregates.task_series),
            Need::UserTaskSeries => analytics.user_task = Some(aggregates.user_task.series.clone()),
            Need::UserGame => analytics.user_game = Some(aggregates.user_game),
            Need::GameMinutes => analytics.game_minutes = Some(aggregates.game_minutes),
            Need::CellGrid => {
                analytics.grid = Grid::from_cells(
                    aggregates.grid_cells.iter().copied(),
                    cell.unwrap_or((0, 0)),
                );
            }
            Need::Greencrowd => {
                let state = aggregates.greencrowd.as_ref().ok_or(GreencrowdMissing)?;
                analytics.greencrowd = Some(greencrowd::snapshot(state));
            }
        }
    }
    Ok(analytics)
}
