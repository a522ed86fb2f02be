//! Each built-in strategy's decision logic, declared as data: the tests it makes, in order,
//! and the outcome (points, case name) each path reaches. `GET /strategies/{id}/graph` draws
//! it (GAME's `generate_logic_graph`); a test keeps the declared case names equal to the
//! ones the strategy can return ([`StrategyKind::case_names`]).

use crate::strategy::StrategyKind;

/// One step of a strategy's decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Branch {
    /// A test; `yes` when it holds, `no` otherwise.
    Test {
        condition: &'static str,
        yes: Box<Branch>,
        no: Box<Branch>,
    },
    /// A computation before the next step (what the strategy reads or derives).
    Step {
        label: &'static str,
        next: Box<Branch>,
    },
    /// Where a path ends: the points given and the case name.
    Outcome {
        points: &'static str,
        case_name: &'static str,
    },
    /// The award is refused (422) with this reason.
    Refused { reason: &'static str },
}

fn test(condition: &'static str, yes: Branch, no: Branch) -> Branch {
    Branch::Test {
        condition,
        yes: Box::new(yes),
        no: Box::new(no),
    }
}

fn step(label: &'static str, next: Branch) -> Branch {
    Branch::Step {
        label,
        next: Box::new(next),
    }
}

fn outcome(points: &'static str, case_name: &'static str) -> Branch {
    Branch::Outcome { points, case_name }
}

/// The declared decision of a built-in strategy.
pub fn branches(kind: StrategyKind) -> Branch {
    match kind {
        StrategyKind::Default | StrategyKind::SocioBee => test(
            "task awards (all users) < 2",
            outcome("variable_basic_points", "BasicEngagement"),
            test(
                "user's awards on the task > 2",
                step(
                    "user_avg, all_avg = mean gaps (s); diff = since last award − last window",
                    test(
                        "user_avg < all_avg",
                        outcome(
                            "variable_basic_points + variable_bonus_points",
                            "PerformanceBonus",
                        ),
                        test(
                            "diff > 0",
                            test(
                                "diff < all_avg",
                                outcome(
                                    "variable_individual_over_global_points",
                                    "IndividualOverGlobal",
                                ),
                                test(
                                    "diff < user_avg",
                                    outcome(
                                        "variable_peak_performer_bonus_points",
                                        "PeakPerformerBonus",
                                    ),
                                    test(
                                        "diff > user_avg",
                                        outcome(
                                            "variable_global_advantage_adjustment_points",
                                            "GlobalAdvantageAdjustment",
                                        ),
                                        outcome("1", "default"),
                                    ),
                                ),
                            ),
                            test(
                                "diff < 0",
                                outcome(
                                    "variable_individual_adjustment_points",
                                    "IndividualAdjustment",
                                ),
                                outcome("1", "default"),
                            ),
                        ),
                    ),
                ),
                outcome("1", "default"),
            ),
        ),
        StrategyKind::ConstantEffort => step(
            "n = user's awards on the task in the last variable_constant_effort_interval_minutes",
            test(
                "n > 0",
                outcome(
                    "min(max(int((n + 1) / variable_max_points × 100), 1), variable_max_points)",
                    "ConstantEffortReward",
                ),
                outcome("1", "BasicReward"),
            ),
        ),
        StrategyKind::Greengage => test(
            "data.minutes is a whole number ≥ 0",
            test(
                "minutes = 0",
                test(
                    "an award on the task in the last variable_minutes_to_check",
                    outcome("variable_default_points / 2", "Case 1.2 (DP/2)"),
                    outcome("variable_default_points", "Case 1.1 (DP)"),
                ),
                test(
                    "user's awards in the game < 2",
                    outcome("variable_default_points × 2", "Case 2 (DP x 2)"),
                    test(
                        "minutes > game's mean minutes",
                        outcome("DPTE × 1.5", "Case 3 (BP)"),
                        test(
                            "minutes > user's mean minutes in the game",
                            outcome("DPTE × 1.25", "Case 4.1 (PBP)"),
                            outcome(
                                "DPTE = variable_default_points × time range of minutes",
                                "Case 4.2 (DPTE)",
                            ),
                        ),
                    ),
                ),
            ),
            Branch::Refused {
                reason: "the minutes field is missing or not a whole number ≥ 0",
            },
        ),
        StrategyKind::Greencrowd => test(
            "data carries a simulation (simulationHash, tasks)",
            test(
                "the hash matches the signed simulation",
                test(
                    "the simulation lists this task",
                    test(
                        "the simulation was already used",
                        outcome(
                            "sum of the five dimensions of a new simulation",
                            "Valid Simulation - Origin: Used simulation",
                        ),
                        test(
                            "the simulation expired (15 min)",
                            outcome(
                                "sum of the five dimensions of a new simulation",
                                "Valid Simulation - Origin: Expired simulation",
                            ),
                            outcome(
                                "DIM_BP + DIM_LBE + DIM_TD + DIM_PP + DIM_S",
                                "Valid Simulation",
                            ),
                        ),
                    ),
                    Branch::Refused {
                        reason: "the simulation does not list this task",
                    },
                ),
                Branch::Refused {
                    reason: "Invalid hash",
                },
            ),
            step(
                "simulate for the user's control group",
                outcome(
                    "DIM_BP + DIM_LBE + DIM_TD + DIM_PP + DIM_S",
                    "Valid Simulation",
                ),
            ),
        ),
        StrategyKind::GetisOrdGiStar => step(
            "z = Getis-Ord Gi* of the task's cell over the game's award grid",
            test(
                "z ≤ −1.96 (cold spot)",
                outcome(
                    "variable_basic_points + variable_bonus_points",
                    "ColdSpotBonus",
                ),
                test(
                    "z ≥ 1.96 (hot spot)",
                    outcome("variable_basic_points / 2", "HotSpotReduced"),
                    outcome("variable_basic_points", "AverageArea"),
                ),
            ),
        ),
    }
}

/// Every case name a declared decision reaches.
pub fn case_names(branch: &Branch) -> Vec<&'static str> {
    let mut names = Vec::new();
    let mut stack = vec![branch];
    while let Some(branch) = stack.pop() {
        match branch {
            Branch::Test { yes, no, .. } => {
                stack.push(no);
                stack.push(yes);
            }
            Branch::Step { next, .. } => stack.push(next),
            Branch::Outcome { case_name, .. } => names.push(*case_name),
            Branch::Refused { .. } => {}
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn declared_cases_are_exactly_the_cases_each_strategy_returns() {
        for kind in StrategyKind::ALL {
            let declared: BTreeSet<&str> = case_names(&branches(kind)).into_iter().collect();
            let returned: BTreeSet<&str> = kind.case_names().iter().copied().collect();
            assert_eq!(declared, returned, "{}", kind.id());
        }
    }
}
