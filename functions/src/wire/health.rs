//! Liveness and readiness probes.

use serde::Serialize;
use utoipa::ToSchema;

/// `GET /kpi/health_check` (GAME's liveness probe).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"status": "KPI service is running", "timestamp": "2026-12-02T10:00:00Z"}))]
pub struct KpiHealth {
    pub status: String,
    pub timestamp: String,
}

/// `GET /health`: the table answered a read.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"status": "ok", "table": "reachable", "timestamp": "2026-12-02T10:00:00Z"}))]
pub struct Health {
    pub status: String,
    pub table: String,
    pub timestamp: String,
}
