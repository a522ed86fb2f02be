//! `getis_ord_gi_star` (GeoEquityGamificationModel): GAME ships the Getis-Ord Gi* maths
//! (`app/engine/getis_ord_gi_star.py`) but never wired it as a strategy. Here it is one:
//! awards in under-visited areas (cold spots) are worth more than in average areas, which are
//! worth more than in over-visited areas (hot spots). Rule and worked example:
//! docs/strategies.md.

use serde_json::{Value, json};

use crate::analytics::Need;
use crate::catalog::parse_python_int;
use crate::points::Points;
use crate::strategy::{Outcome, ScoreInput, StrategyError, int_var, need};

pub(crate) const NEEDS: &[Need] = &[Need::CellGrid];

pub(crate) const CASES: &[&str] = &["ColdSpotBonus", "AverageArea", "HotSpotReduced"];

/// |Gi*| at or beyond this z-score is significant (two-sided 95 %, the usual Gi* cut-off).
pub const Z_CRITICAL: f64 = 1.96;

/// Task param keys that place a task on the grid (0-based row and column).
pub const CELL_ROW_PARAM: &str = "cellRow";
pub const CELL_COL_PARAM: &str = "cellCol";

/// A dense 2-D grid of per-cell activity (e.g. award counts), row-major.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Grid {
    pub rows: usize,
    pub cols: usize,
    /// `rows × cols` finite values, row-major.
    pub values: Vec<f64>,
}

impl Grid {
    /// A grid from sparse `(row, col, value)` cells (values of a repeated cell add up), sized
    /// to the bounding box of those cells and of `include` (the scored task's cell), so the
    /// task is always on it. Unvisited cells inside the box are 0.
    pub fn from_cells(
        cells: impl IntoIterator<Item = (usize, usize, f64)> + Clone,
        include: (usize, usize),
    ) -> Option<Grid> {
        let (mut rows, mut cols) = (include.0.checked_add(1)?, include.1.checked_add(1)?);
        for (r, c, _) in cells.clone() {
            rows = rows.max(r.checked_add(1)?);
            cols = cols.max(c.checked_add(1)?);
        }
        let mut values = vec![0.0; rows.checked_mul(cols)?];
        for (r, c, v) in cells {
            values[r * cols + c] += v;
        }
        Some(Grid { rows, cols, values })
    }

    fn check(&self) -> Result<(), StrategyError> {
        if self.rows.checked_mul(self.cols) != Some(self.values.len()) {
            return Err(StrategyError::InvalidSnapshot(format!(
                "the grid is {}x{} but has {} values",
                self.rows,
                self.cols,
                self.values.len()
            )));
        }
        if self.values.iter().any(|v| !v.is_finite()) {
            return Err(StrategyError::InvalidSnapshot(
                "the grid holds a non-finite value".to_string(),
            ));
        }
        Ok(())
    }
}

/// Mean and population standard deviation as GAME computes them (`sqrt(Σx²/n − mean²)`), or
/// `None` when every Gi* is 0 (fewer than 2 cells, no variance, or a variance lost to
/// rounding: GAME would produce NaN there).
fn moments(x: &[f64]) -> Option<(f64, f64)> {
    let n = x.len();
    if n < 2 {
        return None;
    }
    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let var = x.iter().map(|v| v * v).sum::<f64>() / nf - mean * mean;
    let std = var.sqrt();
    (std > 0.0 && std.is_finite()).then_some((mean, std))
}

/// Gi* of cell (r, c) with rook weights including the cell itself (all weights 1).
fn gi_at(grid: &Grid, mean: f64, std: f64, r: usize, c: usize) -> f64 {
    let n = grid.values.len() as f64;
    let at = |r: usize, c: usize| grid.values[r * grid.cols + c];
    let mut sum_w = 1.0;
    let mut sum_wx = at(r, c);
    if r > 0 {
        sum_w += 1.0;
        sum_wx += at(r - 1, c);
    }
    if r + 1 < grid.rows {
        sum_w += 1.0;
        sum_wx += at(r + 1, c);
    }
    if c > 0 {
        sum_w += 1.0;
        sum_wx += at(r, c - 1);
    }
    if c + 1 < grid.cols {
        sum_w += 1.0;
        sum_wx += at(r, c + 1);
    }
    // Binary weights: Σw² = Σw.
    let numerator = sum_wx - mean * sum_w;
    let denom_term = (n * sum_w - sum_w * sum_w) / (n - 1.0);
    let denominator = std * denom_term.max(0.0).sqrt();
    if denominator == 0.0 {
        0.0
    } else {
        numerator / denominator
    }
}

/// GAME's `compute_getis_ord_gi_star`: one z-score per cell, row-major. `None` for a grid whose
/// shape does not match its values or that holds a non-finite value.
pub fn gi_star(grid: &Grid) -> Option<Vec<f64>> {
    grid.check().ok()?;
    let Some((mean, std)) = moments(&grid.values) else {
        return Some(vec![0.0; grid.values.len()]);
    };
    let mut out = Vec::with_capacity(grid.values.len());
    for r in 0..grid.rows {
        for c in 0..grid.cols {
            out.push(gi_at(grid, mean, std, r, c));
        }
    }
    Some(out)
}

/// Gi* of one cell: O(cells) for the moments, O(1) for the neighbourhood.
pub fn gi_star_at(grid: &Grid, row: usize, col: usize) -> Option<f64> {
    grid.check().ok()?;
    if row >= grid.rows || col >= grid.cols {
        return None;
    }
    Some(match moments(&grid.values) {
        Some((mean, std)) => gi_at(grid, mean, std, row, col),
        None => 0.0,
    })
}

/// GAME's `rank_hotspots`: cells by Gi*, strongest hot spot first (stable for ties).
pub fn rank_hotspots(grid: &Grid) -> Option<Vec<((usize, usize), f64)>> {
    let scores = gi_star(grid)?;
    let mut ranked: Vec<((usize, usize), f64)> = scores
        .into_iter()
        .enumerate()
        .map(|(i, z)| ((i / grid.cols, i % grid.cols), z))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    Some(ranked)
}

/// The task's cell from its params: non-negative integers, or strings Python's `int()` reads.
pub fn task_cell(params: &[(&str, &Value)]) -> Option<(usize, usize)> {
    let get = |key: &str| {
        params
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => parse_python_int(s).and_then(|i| u64::try_from(i).ok()),
                _ => None,
            })
            .and_then(|u| usize::try_from(u).ok())
    };
    Some((get(CELL_ROW_PARAM)?, get(CELL_COL_PARAM)?))
}

/// The three classes and their points: cold `basic + bonus`, average `basic`, hot `basic / 2`.
pub fn decide(z: f64, basic: i64, bonus: i64) -> Option<Outcome> {
    let basic_p = Points::from_int(basic);
    Some(if z <= -Z_CRITICAL {
        Outcome::new(
            Points::from_decimal(i128::from(basic) + i128::from(bonus), 0)?,
            "ColdSpotBonus",
        )
    } else if z >= Z_CRITICAL {
        Outcome::new(basic_p.checked_half()?, "HotSpotReduced")
    } else {
        Outcome::new(basic_p, "AverageArea")
    })
}

pub(crate) fn score(input: &ScoreInput<'_>) -> Result<Outcome, StrategyError> {
    let grid = need(&input.analytics.grid, Need::CellGrid)?;
    let basic = int_var(input.variables, 0)?;
    let bonus = int_var(input.variables, 1)?;
    // The ordering cold > average > hot is the strategy's promise; it needs both positive.
    for (name, v) in [
        ("variable_basic_points", basic),
        ("variable_bonus_points", bonus),
    ] {
        if v < 1 {
            return Err(StrategyError::InvalidVariable {
                name,
                message: format!(
                    "Variable \"{name}\" must be at least 1 for strategy getis_ord_gi_star, got {v}."
                ),
            });
        }
    }
    let (row, col) = task_cell(input.task_params).ok_or_else(|| {
        StrategyError::InvalidTaskParams(format!(
            "Task \"{}\" has no grid cell: set the task params \"{CELL_ROW_PARAM}\" and \"{CELL_COL_PARAM}\" to non-negative integers to use getis_ord_gi_star.",
            input.task_id
        ))
    })?;
    grid.check()?;
    if row >= grid.rows || col >= grid.cols {
        return Err(StrategyError::InvalidSnapshot(format!(
            "the task's cell ({row}, {col}) is outside the {}x{} grid",
            grid.rows, grid.cols
        )));
    }
    let z = gi_star_at(grid, row, col).unwrap_or(0.0);
    let mut outcome = decide(z, basic, bonus).ok_or(StrategyError::Overflow)?;
    // Kept with the award so a scientist can audit why it scored this way.
    outcome.callback_data = Some(json!({"giStar": z, "cell": [row, col]}));
    Ok(outcome)
}
