//! The integration tests, one binary: the library links once instead of once per file. Each
//! module was its own test file; they share one process, so nothing here may assume it runs
//! alone (the log capture in `apikeys` is installed once, for the whole binary).

mod apikeys;
mod awards;
mod custom_award_cost;
mod custom_strategies;
mod games;
mod greencrowd;
mod http;
mod jwt;
mod rate_limits;
mod readmodels;
mod route_table;
mod strategies;
mod tasks;
mod tenancy;
mod wallet;
