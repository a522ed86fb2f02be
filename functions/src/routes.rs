//! The route table: the only list of routes. The Lambda binaries, the dev API's router
//! and template.yaml are checked against it by tests.

use crate::AppContext;
use crate::api::{
    actions, apikeys, award, custom, dashboard, docs, exports, games, health, leaderboards, ledger,
    progression, readmodels, simulated, strategies, tasks, wallet, webhooks,
};
use crate::error::ApiResult;
use lambda_http::http::Method;
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::pin::Pin;

pub type HandlerFuture = Pin<Box<dyn Future<Output = ApiResult<Response<Body>>> + Send>>;
pub type Handler = fn(&'static AppContext, Request) -> HandlerFuture;

/// A DynamoDB action a route's function calls; its IAM action is `dynamodb:<variant>`.
/// Transactions have no permission of their own: IAM authorises each item of a
/// `TransactWriteItems` by its kind (Put → PutItem, Update → UpdateItem, Delete → DeleteItem,
/// ConditionCheck → ConditionCheckItem), so a route declares the kinds it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    GetItem,
    BatchGetItem,
    Query,
    PutItem,
    UpdateItem,
    DeleteItem,
    ConditionCheckItem,
    BatchWriteItem,
}

impl Action {
    pub const ALL: [Action; 8] = [
        Action::GetItem,
        Action::BatchGetItem,
        Action::Query,
        Action::PutItem,
        Action::UpdateItem,
        Action::DeleteItem,
        Action::ConditionCheckItem,
        Action::BatchWriteItem,
    ];

    /// The IAM action, as written in template.yaml.
    pub const fn iam(self) -> &'static str {
        match self {
            Action::GetItem => "dynamodb:GetItem",
            Action::BatchGetItem => "dynamodb:BatchGetItem",
            Action::Query => "dynamodb:Query",
            Action::PutItem => "dynamodb:PutItem",
            Action::UpdateItem => "dynamodb:UpdateItem",
            Action::DeleteItem => "dynamodb:DeleteItem",
            Action::ConditionCheckItem => "dynamodb:ConditionCheckItem",
            Action::BatchWriteItem => "dynamodb:BatchWriteItem",
        }
    }
}

/// Exactly what a route's function may touch. It is the function's IAM policy in template.yaml,
/// statement for statement (tests/tests/route_table.rs compares them), and the integration tests
/// fail any DynamoDB call a handler makes beyond it (tests/src/lib.rs, `AccessGuard`). Least
/// privilege: declare what the handler calls, `GetItem` for API-key authentication included,
/// and nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Actions on the table itself (IAM resource: the table's ARN).
    pub actions: &'static [Action],
    /// Global secondary indexes the handler queries (`dynamodb:Query` on `<table>/index/<name>`).
    pub indexes: &'static [&'static str],
    /// Reads the deployment secret (`secretsmanager:GetSecretValue` on GAME_SECRET_ARN).
    pub secret: bool,
    /// Writes export files and presigns their download (`s3:PutObject` and `s3:GetObject` on
    /// the export bucket's objects, GAME_EXPORT_BUCKET).
    pub bucket: bool,
    /// Sends to the webhook delivery queue (`sqs:SendMessage` on WebhookQueue).
    pub enqueue: bool,
    /// Drains the webhook dead-letter queue (`sqs:ReceiveMessage`, `DeleteMessage`,
    /// `ChangeMessageVisibility` on WebhookDeadLetterQueue).
    pub drain_dlq: bool,
}

pub struct Route {
    /// Binary name under functions/src/bin/ and the function's name in template.yaml.
    pub name: &'static str,
    pub method: Method,
    /// API Gateway route path; `{name}` segments are path parameters.
    pub path: &'static str,
    pub handler: Handler,
    pub access: Access,
}

macro_rules! handler {
    ($f:path) => {
        |ctx, req| Box::pin($f(ctx, req))
    };
}

/// `route!(name, METHOD, "/path", handler, [Action, ...])`, then optionally
/// `query: [INDEX, ...]` (the GSIs it queries), `secret: true` (it reads the secret),
/// `bucket: true` (it writes to the export bucket), `enqueue: true` (it sends webhook
/// deliveries) and `drain_dlq: true` (it reads the DLQ).
/// A route outside `/api/v1` (GAME's documentation routes): public, touching no AWS resource.
macro_rules! root_route {
    ($name:literal, $method:ident, $path:literal, $f:path) => {
        Route {
            name: $name,
            method: Method::$method,
            path: $path,
            handler: handler!($f),
            access: Access {
                actions: &[],
                indexes: &[],
                secret: false,
                bucket: false,
                enqueue: false,
                drain_dlq: false,
            },
        }
    };
}

macro_rules! route {
    ($name:literal, $method:ident, $path:literal, $f:path, [$($action:ident),* $(,)?]
     $(, query: [$($index:ident),* $(,)?])? $(, secret: $secret:literal)?
     $(, bucket: $bucket:literal)? $(, enqueue: $enqueue:literal)? $(, drain_dlq: $drain:literal)? $(,)?) => {
        Route {
            name: $name,
            method: Method::$method,
            path: concat!("/api/v1", $path),
            handler: handler!($f),
            access: Access {
                actions: &[$(Action::$action),*],
                indexes: &[$($(stringify!($index)),*)?],
                secret: false $(|| $secret)?,
                bucket: false $(|| $bucket)?,
                enqueue: false $(|| $enqueue)?,
                drain_dlq: false $(|| $drain)?,
            },
        }
    };
}

/// Every route is its own static, so a binary that serves one (`lambda::serve(&routes::X)`)
/// links only that handler: nothing it calls references the table.
macro_rules! route_table {
    ($($id:ident = $route:expr),* $(,)?) => {
        $(pub static $id: Route = $route;)*
        /// The table, in matching order.
        pub static ROUTES: &[&Route] = &[$(&$id),*];
        /// Each static's identifier with its route (the tests check the two agree).
        pub static IDENTIFIERS: &[(&str, &Route)] = &[$((stringify!($id), &$id)),*];
    };
}

route_table! {
    KPI_HEALTH_CHECK = route!(
        "kpi_health_check",
        GET,
        "/kpi/health_check",
        health::kpi_health_check,
        []
    ),
    HEALTH = route!("health", GET, "/health", health::health, [GetItem]),
    GAMES_CREATE = route!(
        "games_create",
        POST,
        "/games",
        games::create,
        [GetItem, PutItem, UpdateItem],
        secret: true
    ),
    GAMES_LIST = route!("games_list", GET, "/games", games::list, [GetItem], query: [GSI1], secret: true),
    GAMES_GET = route!("games_get", GET, "/games/{gameId}", games::get, [GetItem], secret: true),
    GAMES_PATCH = route!(
        "games_patch",
        PATCH,
        "/games/{gameId}",
        games::patch,
        [GetItem, PutItem, DeleteItem],
        secret: true
    ),
    GAMES_DELETE = route!(
        "games_delete",
        DELETE,
        "/games/{gameId}",
        games::delete,
        [GetItem, Query, PutItem, DeleteItem, BatchWriteItem],
        secret: true
    ),
    GAMES_DUPLICATE = route!(
        "games_duplicate",
        POST,
        "/games/{gameId}/duplicate",
        games::duplicate,
        [GetItem, Query, PutItem, UpdateItem, BatchWriteItem],
        secret: true
    ),
    GAMES_STRATEGY = route!(
        "games_strategy",
        GET,
        "/games/{gameId}/strategy",
        games::strategy,
        [GetItem],
        secret: true
    ),
    TASKS_CREATE = route!(
        "tasks_create",
        POST,
        "/games/{gameId}/tasks",
        tasks::create,
        [GetItem, PutItem, ConditionCheckItem],
        secret: true
    ),
    TASKS_BULK = route!(
        "tasks_bulk",
        POST,
        "/games/{gameId}/tasks/bulk",
        tasks::bulk,
        [GetItem, PutItem, ConditionCheckItem],
        secret: true
    ),
    TASKS_LIST = route!(
        "tasks_list",
        GET,
        "/games/{gameId}/tasks",
        tasks::list,
        [GetItem, Query],
        secret: true
    ),
    TASKS_GET = route!(
        "tasks_get",
        GET,
        "/games/{gameId}/tasks/{externalTaskId}",
        tasks::get,
        [GetItem, BatchGetItem],
        secret: true
    ),
    TASKS_PATCH = route!(
        "tasks_patch",
        PATCH,
        "/games/{gameId}/tasks/{externalTaskId}",
        tasks::patch,
        [GetItem, BatchGetItem, PutItem, ConditionCheckItem],
        secret: true
    ),
    TASKS_DELETE = route!(
        "tasks_delete",
        DELETE,
        "/games/{gameId}/tasks/{externalTaskId}",
        tasks::delete,
        [GetItem, BatchGetItem, PutItem, DeleteItem],
        secret: true
    ),
    TASKS_DUPLICATE = route!(
        "tasks_duplicate",
        POST,
        "/games/{gameId}/tasks/{externalTaskId}/duplicate",
        tasks::duplicate,
        [GetItem, BatchGetItem, PutItem, ConditionCheckItem],
        secret: true
    ),
    POINTS_AWARD = route!(
        "points_award",
        POST,
        "/games/{gameId}/tasks/{externalTaskId}/points",
        award::award,
        [GetItem, BatchGetItem, Query, PutItem, UpdateItem, DeleteItem],
        secret: true
    ),
    POINTS_TASK_ACTION = route!(
        "points_task_action",
        POST,
        "/games/{gameId}/tasks/{externalTaskId}/action",
        actions::task_action,
        [GetItem, BatchGetItem, PutItem, UpdateItem, ConditionCheckItem],
        secret: true
    ),
    USERS_ACTIONS = route!(
        "users_actions",
        POST,
        "/users/{externalUserId}/actions",
        actions::user_action,
        [GetItem, PutItem, UpdateItem, ConditionCheckItem],
        secret: true
    ),
    USERS_WALLET = route!(
        "users_wallet",
        GET,
        "/users/{externalUserId}/wallet",
        wallet::wallet,
        [GetItem, Query],
        secret: true
    ),
    USERS_CONVERT_PREVIEW = route!(
        "users_convert_preview",
        GET,
        "/users/{externalUserId}/convert/preview",
        wallet::convert_preview,
        [GetItem],
        secret: true
    ),
    USERS_CONVERT = route!(
        "users_convert",
        POST,
        "/users/{externalUserId}/convert",
        wallet::convert,
        [GetItem, BatchGetItem, PutItem, UpdateItem],
        secret: true
    ),
    LEDGER_REVERSE = route!("ledger_reverse", POST, "/awards/{awardId}/reversal", ledger::reverse, [GetItem, BatchGetItem, PutItem, UpdateItem, DeleteItem], query: [GSI1], secret: true),
    LEDGER_ADJUST = route!("ledger_adjust", POST, "/users/{externalUserId}/adjustments", ledger::adjust, [GetItem, BatchGetItem, PutItem, UpdateItem], secret: true),
    LEDGER_TRANSFER = route!("ledger_transfer", POST, "/users/{externalUserId}/transfers", ledger::transfer, [GetItem, BatchGetItem, PutItem, UpdateItem], secret: true),
    LEDGER_SPEND = route!("ledger_spend", POST, "/users/{externalUserId}/spend", ledger::spend, [GetItem, BatchGetItem, Query, PutItem, UpdateItem], secret: true),
    LEDGER_HOLD = route!("ledger_hold", POST, "/users/{externalUserId}/holds", ledger::hold, [GetItem, BatchGetItem, Query, PutItem, UpdateItem], secret: true),
    LEDGER_CAPTURE = route!("ledger_capture", POST, "/users/{externalUserId}/holds/{holdId}/capture", ledger::capture, [GetItem, BatchGetItem, PutItem, UpdateItem], secret: true),
    LEDGER_VOID = route!("ledger_void", POST, "/users/{externalUserId}/holds/{holdId}/void", ledger::void, [GetItem, BatchGetItem, PutItem, UpdateItem], secret: true),
    LEDGER_HISTORY = route!("ledger_history", GET, "/users/{externalUserId}/ledger", ledger::history, [GetItem, Query], secret: true),
    GAMES_POINTS = route!(
        "games_points",
        GET,
        "/games/{gameId}/points",
        readmodels::game_totals,
        [GetItem, Query],
        secret: true
    ),
    GAMES_POINTS_DETAILS = route!(
        "games_points_details",
        GET,
        "/games/{gameId}/points/details",
        readmodels::game_details,
        [GetItem, Query],
        secret: true
    ),
    GAMES_USERS = route!(
        "games_users",
        GET,
        "/games/{gameId}/users",
        readmodels::game_users,
        [GetItem, BatchGetItem, Query],
        secret: true
    ),
    GAMES_USER_POINTS = route!("games_user_points", GET, "/games/{gameId}/users/{externalUserId}/points", readmodels::game_user_totals, [GetItem], query: [GSI1], secret: true),
    TASKS_POINTS = route!(
        "tasks_points",
        GET,
        "/games/{gameId}/tasks/{externalTaskId}/points",
        readmodels::task_user_totals,
        [GetItem, BatchGetItem, Query],
        secret: true
    ),
    TASKS_POINTS_DETAILS = route!(
        "tasks_points_details",
        GET,
        "/games/{gameId}/tasks/{externalTaskId}/points/details",
        readmodels::task_details,
        [GetItem, BatchGetItem, Query],
        secret: true
    ),
    TASKS_USER_POINTS = route!(
        "tasks_user_points",
        GET,
        "/games/{gameId}/tasks/{externalTaskId}/users/{externalUserId}/points",
        readmodels::task_user_points,
        [GetItem, BatchGetItem],
        secret: true
    ),
    USERS_POINTS = route!("users_points", GET, "/users/{externalUserId}/points", readmodels::user_totals, [GetItem, BatchGetItem], query: [GSI1], secret: true),
    GAMES_USER_POINTS_SIMULATED = route!(
        "games_user_points_simulated",
        GET,
        "/games/{gameId}/users/{externalUserId}/points/simulated",
        simulated::simulated,
        [GetItem, BatchGetItem, Query, PutItem],
        secret: true
    ),
    USERS_POINTS_QUERY = route!("users_points_query", POST, "/users/points/query", readmodels::users_query, [GetItem, BatchGetItem, Query], query: [GSI1], secret: true),
    APIKEY_CREATE = route!(
        "apikey_create",
        POST,
        "/apikey/create",
        apikeys::create,
        [GetItem, PutItem],
        secret: true
    ),
    APIKEY_LIST = route!(
        "apikey_list",
        GET,
        "/apikey",
        apikeys::list,
        [GetItem],
        query: [GSI1],
        secret: true
    ),
    APIKEY_REVOKE = route!(
        "apikey_revoke",
        DELETE,
        "/apikey/{prefix}",
        apikeys::revoke,
        [GetItem, UpdateItem],
        secret: true
    ),
    WEBHOOKS_CREATE = route!("webhooks_create", POST, "/webhooks", webhooks::create, [GetItem, Query, PutItem], secret: true),
    WEBHOOKS_LIST = route!("webhooks_list", GET, "/webhooks", webhooks::list, [GetItem, Query], secret: true),
    WEBHOOKS_GET = route!("webhooks_get", GET, "/webhooks/{webhookId}", webhooks::get, [GetItem], secret: true),
    WEBHOOKS_UPDATE = route!("webhooks_update", PATCH, "/webhooks/{webhookId}", webhooks::update, [GetItem, PutItem], secret: true),
    WEBHOOKS_DELETE = route!("webhooks_delete", DELETE, "/webhooks/{webhookId}", webhooks::delete, [GetItem, DeleteItem], secret: true),
    WEBHOOKS_ROTATE = route!("webhooks_rotate", POST, "/webhooks/{webhookId}/rotate", webhooks::rotate, [GetItem, PutItem], secret: true),
    WEBHOOKS_TEST = route!("webhooks_test", POST, "/webhooks/{webhookId}/test", webhooks::test, [GetItem], secret: true, enqueue: true),
    WEBHOOKS_DELIVERIES = route!("webhooks_deliveries", GET, "/webhooks/{webhookId}/deliveries", webhooks::deliveries, [GetItem, Query], secret: true),
    WEBHOOKS_REDELIVER = route!("webhooks_redeliver", POST, "/webhooks/{webhookId}/deliveries/{eventId}/redeliver", webhooks::redeliver, [GetItem], secret: true, enqueue: true),
    WEBHOOKS_REDELIVER_DLQ = route!("webhooks_redeliver_dlq", POST, "/webhooks/{webhookId}/redeliver-dlq", webhooks::redeliver_dlq, [GetItem], secret: true, enqueue: true, drain_dlq: true),
    STRATEGIES_LIST = route!("strategies_list", GET, "/strategies", strategies::list, []),
    STRATEGIES_GET = route!(
        "strategies_get",
        GET,
        "/strategies/{id}",
        strategies::get,
        []
    ),
    STRATEGIES_SCHEMA = route!(
        "strategies_schema",
        GET,
        "/strategies/{id}/schema",
        strategies::schema,
        []
    ),
    CUSTOM_CREATE = route!("custom_create", POST, "/strategies/custom", custom::create, [GetItem, PutItem], secret: true),
    CUSTOM_LIST = route!("custom_list", GET, "/strategies/custom", custom::list, [GetItem], query: [GSI1], secret: true),
    CUSTOM_TEMPLATES = route!("custom_templates", GET, "/strategies/custom/templates", custom::templates, [GetItem], secret: true),
    CUSTOM_IMPORT = route!("custom_import", POST, "/strategies/custom/import", custom::import, [GetItem, PutItem], secret: true),
    CUSTOM_GET = route!("custom_get", GET, "/strategies/custom/{id}", custom::get, [GetItem], secret: true),
    CUSTOM_UPDATE = route!("custom_update", PUT, "/strategies/custom/{id}", custom::update, [GetItem, BatchGetItem, PutItem], secret: true),
    CUSTOM_PUBLISH = route!("custom_publish", POST, "/strategies/custom/{id}/publish", custom::publish, [GetItem, BatchGetItem, PutItem], secret: true),
    CUSTOM_ARCHIVE = route!("custom_archive", POST, "/strategies/custom/{id}/archive", custom::archive, [GetItem, BatchGetItem, PutItem], secret: true),
    CUSTOM_VERSIONS = route!("custom_versions", GET, "/strategies/custom/{id}/versions", custom::versions, [GetItem, Query], secret: true),
    CUSTOM_SIMULATE = route!("custom_simulate", POST, "/strategies/custom/simulate", custom::simulate::simulate, [GetItem, BatchGetItem, Query], secret: true),
    CUSTOM_SIMULATE_STORED = route!("custom_simulate_stored", POST, "/strategies/custom/{id}/simulate", custom::simulate::simulate_stored, [GetItem, BatchGetItem, Query], secret: true),
    CUSTOM_USAGE = route!("custom_usage", GET, "/strategies/custom/{id}/usage", custom::simulate::usage, [GetItem, Query], query: [GSI1], secret: true),
    CUSTOM_METRICS = route!("custom_metrics", GET, "/strategies/custom/{id}/metrics", custom::metrics::metrics, [GetItem, Query], secret: true),
    CUSTOM_COMPARE = route!("custom_compare", GET, "/strategies/custom/compare", custom::metrics::compare, [GetItem, Query], secret: true),
    CUSTOM_ROLLBACK = route!("custom_rollback", POST, "/strategies/custom/{id}/rollback/{version}", custom::rollback, [GetItem, BatchGetItem, PutItem], secret: true),
    LEADERBOARDS_LIST = route!("leaderboards_list", GET, "/games/{gameId}/leaderboards", leaderboards::list, [GetItem, BatchGetItem], secret: true),
    LEADERBOARDS_CREATE = route!("leaderboards_create", POST, "/games/{gameId}/leaderboards", leaderboards::create, [GetItem, BatchGetItem, PutItem], secret: true),
    LEADERBOARDS_GET = route!("leaderboards_get", GET, "/games/{gameId}/leaderboards/{boardKey}", leaderboards::get, [GetItem, BatchGetItem], secret: true),
    LEADERBOARDS_PATCH = route!("leaderboards_patch", PATCH, "/games/{gameId}/leaderboards/{boardKey}", leaderboards::patch, [GetItem, BatchGetItem, PutItem], secret: true),
    LEADERBOARDS_DELETE = route!("leaderboards_delete", DELETE, "/games/{gameId}/leaderboards/{boardKey}", leaderboards::delete, [GetItem, BatchGetItem, PutItem], secret: true),
    LEADERBOARDS_TOP = route!("leaderboards_top", GET, "/games/{gameId}/leaderboards/{boardKey}/entries", leaderboards::top, [GetItem, BatchGetItem, Query], secret: true),
    LEADERBOARDS_USER = route!("leaderboards_user", GET, "/games/{gameId}/leaderboards/{boardKey}/users/{externalUserId}", leaderboards::user, [GetItem, BatchGetItem, Query], secret: true),
    LEADERBOARDS_STANDINGS = route!("leaderboards_standings", GET, "/games/{gameId}/leaderboards/standings/users/{externalUserId}", leaderboards::standings, [GetItem, BatchGetItem, Query], secret: true),
    // Progression (issue 13): levels, achievements, streaks.
    LEVELS_GET = route!("levels_get", GET, "/games/{gameId}/levels", progression::levels_get, [GetItem, BatchGetItem], secret: true),
    LEVELS_PUT = route!("levels_put", PUT, "/games/{gameId}/levels", progression::levels_put, [GetItem, BatchGetItem, PutItem], secret: true),
    STREAK_GET = route!("streak_get", GET, "/games/{gameId}/streak", progression::streak_get, [GetItem, BatchGetItem], secret: true),
    STREAK_PUT = route!("streak_put", PUT, "/games/{gameId}/streak", progression::streak_put, [GetItem, BatchGetItem, PutItem], secret: true),
    ACHIEVEMENTS_LIST = route!("achievements_list", GET, "/games/{gameId}/achievements", progression::achievements_list, [GetItem, BatchGetItem], secret: true),
    ACHIEVEMENTS_PUT = route!("achievements_put", PUT, "/games/{gameId}/achievements/{key}", progression::achievements_put, [GetItem, BatchGetItem, PutItem], secret: true),
    ACHIEVEMENTS_DELETE = route!("achievements_delete", DELETE, "/games/{gameId}/achievements/{key}", progression::achievements_delete, [GetItem, BatchGetItem, PutItem], secret: true),
    ACHIEVEMENTS_STATS = route!("achievements_stats", GET, "/games/{gameId}/achievements/{key}/stats", progression::achievements_stats, [GetItem, BatchGetItem], secret: true),
    USERS_PROGRESSION = route!("users_progression", GET, "/games/{gameId}/users/{externalUserId}/progression", progression::user_progression, [GetItem, BatchGetItem], secret: true),
    USERS_ACHIEVEMENT_GRANT = route!("users_achievement_grant", POST, "/games/{gameId}/users/{externalUserId}/achievements/{key}/grant", progression::achievement_grant, [GetItem, BatchGetItem, PutItem, UpdateItem], secret: true),
    USERS_ACHIEVEMENT_REVOKE = route!("users_achievement_revoke", POST, "/games/{gameId}/users/{externalUserId}/achievements/{key}/revoke", progression::achievement_revoke, [GetItem, BatchGetItem, PutItem, UpdateItem], secret: true),
    STRATEGIES_GRAPH = route!("strategies_graph", GET, "/strategies/{id}/graph", strategies::graph, [GetItem], secret: true),
    DASHBOARD_SUMMARY = route!("dashboard_summary", GET, "/dashboard/summary", dashboard::summary, [GetItem, Query], secret: true),
    DASHBOARD_LOGS = route!("dashboard_logs", GET, "/dashboard/summary/logs", dashboard::logs, [GetItem, Query], secret: true),
    EXPORTS_USERS = route!("exports_users", GET, "/exports/users", exports::users, [GetItem, Query, PutItem, UpdateItem], query: [GSI1], secret: true, bucket: true),
    EXPORTS_USER_POINTS = route!("exports_user_points", GET, "/exports/user-points", exports::user_points, [GetItem, Query, PutItem, UpdateItem], query: [GSI1], secret: true, bucket: true),
    EXPORTS_USER_INTERACTIONS = route!("exports_user_interactions", GET, "/exports/user-interactions", exports::user_interactions, [GetItem, Query, PutItem, UpdateItem], query: [GSI1], secret: true, bucket: true),
    EXPORTS_WALLET_TRANSACTIONS = route!("exports_wallet_transactions", GET, "/exports/wallet-transactions", exports::wallet_transactions, [GetItem, Query, PutItem, UpdateItem], query: [GSI1], secret: true, bucket: true),
    EXPORTS_HISTORY = route!("exports_history", GET, "/exports/history", exports::history, [GetItem, Query], secret: true),
    // The documentation (docs/api.md). Their binaries serve through `lambda::serve_docs`.
    ROOT = root_route!("root", GET, "/", docs::root),
    OPENAPI = root_route!("openapi", GET, "/openapi.json", docs::openapi),
    DOCS = root_route!("docs", GET, "/docs", docs::docs),
    DOCS_ASSET = root_route!("docs_asset", GET, "/docs/{file}", docs::docs_asset),
    REDOCS = root_route!("redocs", GET, "/redocs", docs::redocs),
    // The admin console (docs/console.md): a page and its files, served like the docs.
    CONSOLE = root_route!("console", GET, "/admin", docs::console),
    CONSOLE_ASSET = root_route!("console_asset", GET, "/admin/{file}", docs::console_asset),
}

pub fn by_name(name: &str) -> Option<&'static Route> {
    ROUTES.iter().copied().find(|route| route.name == name)
}

/// API Gateway's matching: literal segments beat parameters; the method must match.
/// Answers the route and its path parameters.
pub fn match_route(method: &Method, path: &str) -> Option<(&'static Route, Vec<(String, String)>)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    // `/` (GAME's redirect to the docs) is the one route whose path ends with a slash.
    let pattern_of = |path: &'static str| path.trim_end_matches('/').split('/');
    ROUTES
        .iter()
        .copied()
        .filter(|route| route.method == *method)
        .filter_map(|route| {
            let pattern: Vec<&str> = pattern_of(route.path).collect();
            if pattern.len() != segments.len() {
                return None;
            }
            let mut params = Vec::new();
            let mut literals = 0;
            for (expected, actual) in pattern.iter().zip(&segments) {
                if let Some(name) = expected.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    if actual.is_empty() {
                        return None;
                    }
                    params.push((name.to_owned(), (*actual).to_owned()));
                } else if expected == actual {
                    literals += 1;
                } else {
                    return None;
                }
            }
            Some((literals, route, params))
        })
        .max_by_key(|(literals, _, _)| *literals)
        .map(|(_, route, params)| (route, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_method_paths_are_unique() {
        let mut names = std::collections::HashSet::new();
        let mut keys = std::collections::HashSet::new();
        for route in ROUTES {
            assert!(names.insert(route.name), "duplicate name {}", route.name);
            assert!(
                keys.insert((route.method.clone(), route.path)),
                "duplicate {}",
                route.path
            );
            assert!(
                route
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_')
            );
        }
    }

    #[test]
    fn literal_segments_win_over_parameters() {
        let (route, params) = match_route(&Method::POST, "/api/v1/games/g1/tasks/bulk").unwrap();
        assert_eq!(route.name, "tasks_bulk");
        assert_eq!(params, vec![("gameId".to_owned(), "g1".to_owned())]);
        let (route, params) = match_route(&Method::GET, "/api/v1/games/g1/tasks/t-9").unwrap();
        assert_eq!(route.name, "tasks_get");
        assert_eq!(params[1], ("externalTaskId".to_owned(), "t-9".to_owned()));
        assert!(match_route(&Method::PUT, "/api/v1/games").is_none());
        assert!(match_route(&Method::GET, "/api/v1/nothing").is_none());
    }

    #[test]
    fn the_documentation_routes_sit_outside_the_api_prefix() {
        assert_eq!(match_route(&Method::GET, "/").unwrap().0.name, "root");
        assert_eq!(match_route(&Method::GET, "/docs").unwrap().0.name, "docs");
        let (route, params) = match_route(&Method::GET, "/docs/swagger-ui.css").unwrap();
        assert_eq!(route.name, "docs_asset");
        assert_eq!(
            params,
            vec![("file".to_owned(), "swagger-ui.css".to_owned())]
        );
        assert_eq!(
            match_route(&Method::GET, "/openapi.json").unwrap().0.name,
            "openapi"
        );
        assert!(match_route(&Method::POST, "/").is_none());
    }
}
