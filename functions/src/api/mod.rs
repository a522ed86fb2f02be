//! One async function per route. Each: parse, authenticate, load, decide, commit, answer.

pub mod actions;
pub mod apikeys;
pub mod award;
pub mod custom;
pub mod dashboard;
pub mod docs;
pub mod exports;
pub mod games;
pub mod graph;
pub mod health;
pub mod readmodels;
pub mod simulated;
pub mod strategies;
pub mod tasks;
pub mod wallet;

use crate::error::{ApiError, ApiResult};
use crate::http::query_param;
use lambda_http::Request;

/// Optimistic-concurrency retries before a write answers 409.
pub const WRITE_ATTEMPTS: usize = 5;

pub const DEFAULT_PAGE_SIZE: i32 = 10;
pub const MAX_PAGE_SIZE: i32 = 100;

/// The query names of the page size: `pageSize`, and GAME's `page_size` (still accepted).
pub const PAGE_SIZE_PARAMS: [&str; 2] = ["pageSize", "page_size"];

/// `pageSize` (or GAME's `page_size`; 1..=100, default 10) and `nextToken`. GAME's numbered
/// `page` is refused rather than silently ignored, since a cursor cannot jump to page N.
pub fn paging(req: &Request) -> ApiResult<(i32, Option<String>)> {
    if let Some(page) = query_param(req, "page").filter(|p| p != "1") {
        return Err(ApiError::unprocessable(
            "unsupported_pagination",
            format!(
                "page={page} is not supported: lists page with pageSize and the nextToken of the previous answer."
            ),
        ));
    }
    let page_size = match PAGE_SIZE_PARAMS
        .iter()
        .find_map(|name| query_param(req, name))
    {
        None => DEFAULT_PAGE_SIZE,
        Some(text) => match text.parse::<i32>() {
            Ok(size) if (1..=MAX_PAGE_SIZE).contains(&size) => size,
            _ => {
                return Err(ApiError::unprocessable(
                    "invalid_page_size",
                    format!(
                        "pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}, got \"{text}\"."
                    ),
                ));
            }
        },
    };
    Ok((page_size, query_param(req, "nextToken")))
}
