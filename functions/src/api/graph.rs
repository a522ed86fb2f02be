//! `GET /strategies/{id}/graph`: a built-in strategy's declared branches (public, like the
//! catalogue) or a custom strategy's validated program (the caller's tenant), as SVG or DOT.

use crate::AppContext;
use crate::domain::custom::{self, CUSTOM_PREFIX};
use crate::domain::graph::{self, Graph};
use crate::error::{ApiError, ApiResult};
use crate::http::{path_param, query_param};
use crate::identity::auth::authenticate;
use crate::store::custom as custom_store;
use game_scoring::StrategyKind;
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Svg,
    Dot,
}

fn format(req: &Request) -> ApiResult<Format> {
    match query_param(req, "format").as_deref() {
        None | Some("svg") => Ok(Format::Svg),
        Some("dot") => Ok(Format::Dot),
        Some(other) => Err(ApiError::unprocessable(
            "invalid_graph_format",
            format!("format must be svg or dot, not \"{other}\"."),
        )),
    }
}

/// The custom strategy an id names: `custom:<familyId>` (its published version) or a
/// version id `<familyId>.<version>` (any status, as the simulator).
async fn custom_graph(ctx: &'static AppContext, req: &Request, id: &str) -> ApiResult<Graph> {
    let caller = authenticate(ctx, req).await?;
    let (title, strategy, parent) = if id.starts_with(CUSTOM_PREFIX) {
        let family = custom_store::resolve_published(&ctx.store, &caller.tenant, id).await?;
        let strategy = family.published_strategy().ok_or_else(|| {
            custom::without_program("This custom strategy has no published program to draw.")
        })??;
        let version = family.published_version.unwrap_or_default();
        (
            format!("{} v{version}", family.name),
            strategy,
            family.published_parent.clone(),
        )
    } else {
        let def = custom_store::load_definition(&ctx.store, &caller.tenant, id).await?;
        let strategy = custom::program(
            &def.kind,
            def.parent_strategy_id.as_deref(),
            def.ast_text.as_deref(),
        )?;
        (
            format!("{} v{}", def.name, def.version),
            strategy,
            def.parent_strategy_id.clone(),
        )
    };
    Ok(graph::from_program(
        &title,
        strategy.program(),
        parent.as_deref(),
    ))
}

pub async fn graph(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let id = path_param(&req, "id")?;
    let format = format(&req)?;
    let graph = match StrategyKind::from_id(&id) {
        Some(kind) => graph::from_branches(kind.id(), &game_scoring::branches::branches(kind)),
        None if id.starts_with(CUSTOM_PREFIX) || custom::parse_id(&id).is_some() => {
            custom_graph(ctx, &req, &id).await?
        }
        None => {
            return Err(ApiError::not_found(
                "strategy_not_found",
                format!("Strategy not found with id: {id}"),
            ));
        }
    };
    let (text, content_type) = match format {
        Format::Svg => (graph::to_svg(&graph), "image/svg+xml"),
        Format::Dot => (graph::to_dot(&graph), "text/vnd.graphviz; charset=utf-8"),
    };
    let mut response = Response::new(Body::Text(text));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    Ok(response)
}
