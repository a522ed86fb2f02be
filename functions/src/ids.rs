//! Identifiers. Fresh ids are time-ordered UUIDs (v7): sortable by creation, unguessable.

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
