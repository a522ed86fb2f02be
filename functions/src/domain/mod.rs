//! Pure decisions: no I/O, no clock, no randomness that is not an argument. Each module takes
//! what the store loaded and the parsed request, and returns the answer and the exact writes.

pub mod analytics;
pub mod award;
pub mod custom;
pub mod dashboard;
pub mod exports;
pub mod graph;
pub mod greencrowd;
pub mod input;
pub mod model;
