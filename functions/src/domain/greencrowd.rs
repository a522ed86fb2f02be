//! greencrowd's decisions, pure: the user's control group, the snapshot the strategy scores
//! on, and the aggregates after an award (the records and their writes: `store::greencrowd`).

pub use crate::store::greencrowd::{GameState, Loaded, STRATEGY_ID, UserState};
use game_scoring::greencrowd;
use game_scoring::greencrowd::{ControlGroup, GreencrowdSnapshot, TaskActivity};

const DAY_US: i64 = 86_400_000_000;

fn group_index(group: ControlGroup) -> usize {
    ControlGroup::ALL
        .iter()
        .position(|g| *g == group)
        .unwrap_or(0)
}

/// The states after assigning the user's group (if new) and, when `award` is given, recording
/// one award `(task, now_us, stored data)`.
pub fn next_states(
    loaded: &Loaded,
    award: Option<(&str, i64, &serde_json::Value)>,
) -> (GameState, UserState) {
    let mut game = loaded.game.clone();
    let mut user = loaded.user.clone();
    let (chosen, new) = group(loaded);
    if new {
        game.group_counts[group_index(chosen)] += 1;
        user.group = Some(chosen);
    }
    if let Some((task, now_us, data)) = award {
        let mut activity = TaskActivity {
            external_task_id: task.to_owned(),
            slot_counts: game.slots.get(task).copied().unwrap_or_default(),
        };
        activity.record(now_us);
        game.slots.insert(task.to_owned(), activity.slot_counts);
        greencrowd::record_award_dimensions(&mut game.dims, data);
        user.series.record(now_us);
        user.days.insert(now_us.div_euclid(DAY_US));
    }
    (game, user)
}

/// The user's group, choosing one (the least used in the game) if they have none yet; `true`
/// when it is new.
pub fn group(loaded: &Loaded) -> (ControlGroup, bool) {
    match loaded.user.group {
        Some(group) => (group, false),
        None => (
            greencrowd::choose_control_group(loaded.game.group_counts),
            true,
        ),
    }
}

/// What the strategy scores on.
pub fn snapshot(loaded: &Loaded) -> GreencrowdSnapshot {
    GreencrowdSnapshot {
        group: group(loaded).0,
        tasks: loaded
            .tasks
            .iter()
            .map(|task| TaskActivity {
                external_task_id: task.clone(),
                slot_counts: loaded.game.slots.get(task).copied().unwrap_or_default(),
            })
            .collect(),
        dims: loaded.game.dims,
        user_series: loaded.user.series,
        user_days: loaded.user.days.iter().copied().collect(),
        user_last_award: loaded.last_award.clone(),
        simulation_used: loaded.simulation_used,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_new_user_joins_the_smallest_group_and_an_award_is_recorded() {
        let mut loaded = Loaded::default();
        loaded.game.group_counts = [3, 1, 2];
        let data =
            json!({"callbackData": [{"externalTaskId": "t", "dimensions": [{"DIM_BP": 4}]}]});
        let (game, user) = next_states(&loaded, Some(("t", DAY_US * 10 + 1, &data)));
        assert_eq!(user.group, Some(ControlGroup::AverageScore));
        assert_eq!(game.group_counts, [3, 2, 2]);
        assert_eq!(game.slots["t"].iter().sum::<u64>(), 1);
        assert_eq!(game.dims[0].count, 1);
        assert_eq!(user.series.count, 1);
        assert_eq!(user.days.iter().copied().collect::<Vec<_>>(), [10]);
        // An existing group is kept and counted once.
        let loaded = Loaded {
            user,
            game,
            ..Loaded::default()
        };
        let (game, _) = next_states(&loaded, None);
        assert_eq!(game.group_counts, [3, 2, 2]);
    }
}
