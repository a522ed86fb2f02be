//! What a warm Lambda remembers about custom strategies (one per `AppContext`): validated
//! programs, which family a task ran last, and the execution log's sample rate. Memory only;
//! the context reads the configured rate and hands it in.

use crate::ids::{GameId, TaskId, TenantId};
use game_scoring::dsl::CustomStrategy;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// (tenant, family, version): a published version's program never changes (edits fork a new
/// version), so it is validated once.
pub type ProgramKey = (TenantId, String, u64);
const PROGRAM_CACHE_LIMIT: usize = 512;
/// (tenant, game, externalTaskId) → family id.
type HintKey = (TenantId, GameId, TaskId);
const HINT_LIMIT: usize = 10_000;

pub struct CustomWarm {
    programs: Mutex<HashMap<ProgramKey, Arc<CustomStrategy>>>,
    family_hints: Mutex<HashMap<HintKey, String>>,
    /// The share of successful runs logged, in millionths (atomic: tests and tools change it).
    log_sample_rate_millionths: AtomicU32,
}

impl CustomWarm {
    /// Empty caches; `log_sample_rate` in 0..=1.
    pub fn new(log_sample_rate: f64) -> Self {
        Self {
            programs: Mutex::default(),
            family_hints: Mutex::default(),
            log_sample_rate_millionths: AtomicU32::new((log_sample_rate * 1_000_000.0) as u32),
        }
    }

    pub fn cached_program(&self, key: &ProgramKey) -> Option<Arc<CustomStrategy>> {
        self.programs.lock().ok()?.get(key).cloned()
    }

    /// Full, the cache starts over (simple, and a warm Lambda rarely sees 512 versions).
    pub fn cache_program(&self, key: ProgramKey, program: Arc<CustomStrategy>) {
        if let Ok(mut cache) = self.programs.lock() {
            if cache.len() >= PROGRAM_CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, program);
        }
    }

    /// The family this (tenant, game, task) ran last in this Lambda, if any.
    pub fn family_hint(
        &self,
        tenant: &TenantId,
        game_id: &GameId,
        external_task_id: &TaskId,
    ) -> Option<String> {
        let key = (
            tenant.to_owned(),
            game_id.to_owned(),
            external_task_id.to_owned(),
        );
        self.family_hints.lock().ok()?.get(&key).cloned()
    }

    pub fn remember_family(
        &self,
        tenant: &TenantId,
        game_id: &GameId,
        external_task_id: &TaskId,
        family_id: &str,
    ) {
        if let Ok(mut hints) = self.family_hints.lock() {
            if hints.len() >= HINT_LIMIT {
                hints.clear();
            }
            hints.insert(
                (
                    tenant.to_owned(),
                    game_id.to_owned(),
                    external_task_id.to_owned(),
                ),
                family_id.to_owned(),
            );
        }
    }

    /// The share of successful runs logged, 0..=1.
    pub fn log_sample_rate(&self) -> f64 {
        f64::from(self.log_sample_rate_millionths.load(Ordering::Relaxed)) / 1_000_000.0
    }

    /// Changes the share of successful runs logged by this context (tests, tools).
    pub fn set_log_sample_rate(&self, rate: f64) {
        let rate = rate.clamp(0.0, 1.0);
        self.log_sample_rate_millionths
            .store((rate * 1_000_000.0) as u32, Ordering::Relaxed);
    }
}
