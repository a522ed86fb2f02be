//! `GET /strategies/{id}/graph` (see `domain::graph`).

use crate::AppContext;
use crate::error::{ApiError, ApiResult};
use lambda_http::{Body, Request, Response};

pub async fn graph(_ctx: &'static AppContext, _req: Request) -> ApiResult<Response<Body>> {
    Err(ApiError::not_found("strategy_not_found", "Strategy graphs are not served yet."))
}
