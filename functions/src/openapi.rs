//! The OpenAPI 3.1 document, generated: paths and methods from the route table, bodies and
//! answers from the wire types (`crate::wire`), problems from the registry
//! (`crate::problems`). Committed as docs/openapi.json and served by `GET /openapi.json`; a test
//! fails when the two differ (`GAME_UPDATE_OPENAPI=1` or `make openapi` rewrites the file).
//!
//! Nothing a route's handler calls reaches this module, so the Lambda binaries do not link the
//! schema code; the tests and `game-admin openapi` do.

use crate::problems::{self, ProblemCode};
use crate::routes::{ROUTES, Route};
use crate::wire::apikeys::{ApiKeyCreated, ApiKeyRevoked, ApiKeyView, CreateKey};
use crate::wire::custom::{
    CreateBody, CustomStrategyView, GreencrowdSimulation, MetricsComparison, SimulateBody,
    SimulationResult, StrategyMetrics, TemplateView, UpdateBody, Usage,
};
use crate::wire::dashboard::{DashboardLogs, DashboardSummary};
use crate::wire::exports::{ExportAuditView, ExportLink};
use crate::wire::games::{CreateGame, DuplicateGame, GameSaved, GameView, PatchGame};
use crate::wire::health::{Health, KpiHealth};
use crate::wire::leaderboards::{
    CreateLeaderboard, LeaderboardList, LeaderboardPage, LeaderboardStanding, LeaderboardStandings,
    LeaderboardView, PatchLeaderboard,
};
use crate::wire::ledger::{
    AdjustBody, CloseBody, LedgerHistory, LedgerResult, ReverseBody, SpendBody, TransferBody,
};
use crate::wire::points::{
    AwardBody, AwardResponse, GamePoints, GamePointsDetails, GameUsers, TaskActionBody,
    TaskActionCreated, UserGamePoints, UserSummary, UserTaskTotal, UserTotal, UserTotalWithDetails,
    UsersQuery,
};
use crate::wire::progression::{
    AchievementDef, AchievementList, AchievementStats, AdminGrant, AdminGrantDone, Ladder,
    StreakRule, UserProgressionView,
};
use crate::wire::strategies::{EffectiveStrategy, StrategySchema, StrategyView};
use crate::wire::tasks::{
    BulkCreated, BulkTasks, CreateTask, DuplicateTask, PatchTask, TaskDeleted, TaskSaved, TaskView,
};
use crate::wire::users::{Conversion, ConvertBody, UserActionBody, UserActionCreated, WalletView};
use crate::wire::webhooks::{
    CreateWebhook, DeliveryView, PatchWebhook, Queued, RotateWebhook, WebhookView,
    WebhookWithSecret,
};
use crate::wire::{Message, Page, PageInfo, Problem};
use lambda_http::http::Method;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, Deprecated, HeaderBuilder, InfoBuilder, LicenseBuilder,
    OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required, ResponseBuilder, ServerBuilder,
};
use utoipa::{PartialSchema, ToSchema};

pub const API_KEY_SCHEME: &str = "ApiKeyAuth";
pub const BEARER_SCHEME: &str = "BearerAuth";
/// Stands for every `DSL_*` code of the custom-strategy language in a route's list.
const DSL: &str = "DSL_*";

/// The OpenAPI document as committed in docs/openapi.json (pretty JSON, a final newline).
pub fn to_json() -> Result<String, String> {
    let mut document = serde_json::to_value(document()?).map_err(|e| e.to_string())?;
    add_links(&mut document)?;
    let text = serde_json::to_string_pretty(&document).map_err(|e| e.to_string())?;
    Ok(text + "\n")
}

/// (operation, status, linked operation, [(its parameter, runtime expression)]): how an
/// answer's ids feed the next request, for clients and for the fuzzer's stateful sequences
/// (create a game → its task → an award → the user's wallet and points).
type Link = (
    &'static str,
    u16,
    &'static str,
    &'static [(&'static str, &'static str)],
);

const GAME: &[(&str, &str)] = &[("gameId", "$response.body#/gameId")];
const TASK: &[(&str, &str)] = &[
    ("gameId", "$response.body#/gameId"),
    ("externalTaskId", "$response.body#/externalTaskId"),
];
const AWARDED_USER: &[(&str, &str)] = &[("externalUserId", "$request.body#/externalUserId")];
const AWARDED_GAME_USER: &[(&str, &str)] = &[
    ("gameId", "$response.body#/gameId"),
    ("externalUserId", "$request.body#/externalUserId"),
];
const AWARDED_TASK_USER: &[(&str, &str)] = &[
    ("gameId", "$response.body#/gameId"),
    ("externalTaskId", "$response.body#/externalTaskId"),
    ("externalUserId", "$request.body#/externalUserId"),
];
const CUSTOM: &[(&str, &str)] = &[("id", "$response.body#/id")];

const LINKS: &[Link] = &[
    ("games_create", 201, "games_get", GAME),
    ("games_create", 201, "games_patch", GAME),
    ("games_create", 201, "games_delete", GAME),
    ("games_create", 201, "games_duplicate", GAME),
    ("games_create", 201, "games_strategy", GAME),
    ("games_create", 201, "tasks_create", GAME),
    ("games_create", 201, "tasks_bulk", GAME),
    ("games_create", 201, "tasks_list", GAME),
    ("games_create", 201, "games_points", GAME),
    ("games_create", 201, "games_points_details", GAME),
    ("games_create", 201, "games_users", GAME),
    ("games_duplicate", 201, "games_get", GAME),
    ("tasks_create", 201, "tasks_get", TASK),
    ("tasks_create", 201, "tasks_patch", TASK),
    ("tasks_create", 201, "tasks_delete", TASK),
    ("tasks_create", 201, "tasks_duplicate", TASK),
    ("tasks_create", 201, "points_award", TASK),
    ("tasks_create", 201, "points_task_action", TASK),
    ("tasks_create", 201, "tasks_points", TASK),
    ("tasks_create", 201, "tasks_points_details", TASK),
    ("points_award", 200, "users_wallet", AWARDED_USER),
    ("points_award", 200, "users_points", AWARDED_USER),
    ("points_award", 200, "users_convert_preview", AWARDED_USER),
    ("points_award", 200, "users_convert", AWARDED_USER),
    ("points_award", 200, "games_user_points", AWARDED_GAME_USER),
    (
        "points_award",
        200,
        "games_user_points_simulated",
        AWARDED_GAME_USER,
    ),
    ("points_award", 200, "tasks_user_points", AWARDED_TASK_USER),
    (
        "users_actions",
        201,
        "users_wallet",
        &[("externalUserId", "$response.body#/userId")],
    ),
    ("custom_create", 201, "custom_get", CUSTOM),
    ("custom_create", 201, "custom_update", CUSTOM),
    ("custom_create", 201, "custom_publish", CUSTOM),
    ("custom_create", 201, "custom_archive", CUSTOM),
    ("custom_create", 201, "custom_versions", CUSTOM),
    ("custom_create", 201, "custom_simulate_stored", CUSTOM),
    ("custom_create", 201, "custom_usage", CUSTOM),
    ("custom_create", 201, "custom_metrics", CUSTOM),
    ("custom_import", 201, "custom_get", CUSTOM),
    (
        "apikey_create",
        201,
        "apikey_revoke",
        &[("prefix", "$response.body#/apiKey")],
    ),
];

/// Adds [`LINKS`] to the document's responses. Written as JSON: utoipa 5 serialises a Link's
/// fields in snake_case (`operation_id`), which OpenAPI does not know (fixed in utoipa 6).
fn add_links(document: &mut Value) -> Result<(), String> {
    let find = |name: &str| {
        ROUTES
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| format!("a link names {name}, which is not a route"))
    };
    for (from, status, to, parameters) in LINKS {
        let (from_route, to_route) = (find(from)?, find(to)?);
        for (name, _) in *parameters {
            if !path_parameters(to_route.path).any(|p| p == *name) {
                return Err(format!(
                    "link {from} → {to}: {to} has no path parameter {name}"
                ));
            }
        }
        let method = from_route.method.as_str().to_ascii_lowercase();
        let response = document["paths"][from_route.path][method.as_str()]["responses"]
            .get_mut(status.to_string())
            .ok_or_else(|| format!("link {from} → {to}: {from} has no {status} answer"))?;
        let parameters: serde_json::Map<String, Value> = parameters
            .iter()
            .map(|(name, expression)| ((*name).to_owned(), json!(expression)))
            .collect();
        response["links"][*to] = json!({"operationId": to, "parameters": parameters});
    }
    Ok(())
}

/// Builds the document; an error names a route of the table that has no description here.
pub fn document() -> Result<OpenApi, String> {
    let mut schemas = Schemas::default();
    let mut paths = PathsBuilder::new().build();
    let mut missing = Vec::new();
    for route in ROUTES {
        let Some(op) = describe(route.name, &mut schemas) else {
            missing.push(route.name);
            continue;
        };
        let method = http_method(&route.method).ok_or_else(|| {
            format!(
                "{}: method {} has no OpenAPI name",
                route.name, route.method
            )
        })?;
        paths.add_path_operation(route.path, vec![method], op.build(route));
    }
    if !missing.is_empty() {
        return Err(format!(
            "routes without an OpenAPI description in functions/src/openapi.rs (describe): {}",
            missing.join(", ")
        ));
    }
    schemas.named::<Problem>();
    let codes = problems::all();
    schemas.insert(
        "ProblemCode",
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Every code a problem can carry (docs/api.md#problem-codes has what each means).",
            ))
            .enum_values(Some(codes.iter().map(|p| p.code)))
            .into(),
    );
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas.0)
        .security_scheme(
            API_KEY_SCHEME,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "An API key of the caller's tenant (`POST /api/v1/apikey/create`, or `game-admin mint-key` for the first admin key).",
            ))),
        )
        .security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An OIDC access token of the configured issuer (Keycloak, Cognito); the tenant is its issuer unless configured otherwise (docs/security.md).",
                    ))
                    .build(),
            ),
        )
        .build();
    Ok(OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("GAME — Goals And Motivation Engine")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(DESCRIPTION))
                .license(Some(
                    LicenseBuilder::new()
                        .name("Apache-2.0")
                        .identifier(Some("Apache-2.0"))
                        .build(),
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new()
            .url("/")
            .description(Some("The host that serves this document"))
            .build()]))
        .paths(paths)
        .components(Some(components))
        .tags(Some(TAGS.iter().map(|(name, description)| {
            TagBuilder::new()
                .name(*name)
                .description(Some(*description))
                .build()
        })))
        .build())
}

const DESCRIPTION: &str = "GAME scores user activity into points, coins and incentives with adaptive, \
programmable strategies. Paths and JSON field names are the Python GAME's, so a GAME client switches by \
changing its base URL (differences: docs/compatibility.md).\n\n\
Every error is `application/problem+json` (RFC 9457) with a human `detail` and a stable machine `code`; \
the `ProblemCode` schema lists every code. Writes that must not happen twice (awards, conversions) take an \
`Idempotency-Key` header: a retry with the same key and body replays the first answer with \
`Idempotent-Replayed: true`. Lists page by cursor: pass the answer's `nextToken` back.";

const TAGS: &[(&str, &str)] = &[
    ("games", "Games and their strategy"),
    ("tasks", "Tasks of a game"),
    ("points", "Awards and the read models of awarded points"),
    ("users", "User actions and wallets"),
    (
        "ledger",
        "Corrections and spending: reversals, adjustments, transfers, purchases and holds, and the wallet's full history",
    ),
    (
        "leaderboards",
        "A game's boards and their rankings, filled by the award's own transaction",
    ),
    ("strategies", "The built-in strategy catalogue"),
    (
        "custom strategies",
        "Tenant-written strategies in the custom-strategy language",
    ),
    (
        "api keys",
        "API keys of the caller's tenant (administrators)",
    ),
    (
        "progression",
        "Levels, achievements and streaks, decided by the awards",
    ),
    (
        "webhooks",
        "Signed event deliveries to the tenant's endpoints (administrators; docs/events.md)",
    ),
    ("health", "Liveness and readiness"),
    ("docs", "This document and the pages that render it"),
    ("console", "The admin console in the browser"),
];

fn http_method(method: &Method) -> Option<HttpMethod> {
    Some(match *method {
        Method::GET => HttpMethod::Get,
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        Method::HEAD => HttpMethod::Head,
        Method::OPTIONS => HttpMethod::Options,
        _ => return None,
    })
}

/// The component schemas, collected as routes name their types.
#[derive(Default)]
struct Schemas(BTreeMap<String, RefOr<Schema>>);

impl Schemas {
    fn insert(&mut self, name: &str, schema: RefOr<Schema>) {
        self.0.insert(name.to_owned(), schema);
    }

    /// `T` and what it refers to, as components; answers a reference to `T`.
    fn named<T: ToSchema>(&mut self) -> RefOr<Schema> {
        let mut dependencies = Vec::new();
        T::schemas(&mut dependencies);
        self.0.extend(dependencies);
        self.0.insert(T::name().into_owned(), T::schema());
        Ref::from_schema_name(T::name()).into()
    }

    /// A JSON array of `T`.
    fn list<T: ToSchema>(&mut self) -> RefOr<Schema> {
        ArrayBuilder::new().items(self.named::<T>()).into()
    }

    /// `Page<T>` as the component `<T>Page`.
    fn page<T: ToSchema>(&mut self) -> RefOr<Schema> {
        self.named::<T>();
        self.named::<PageInfo>();
        let name = format!("{}Page", T::name());
        self.0
            .insert(name.clone(), <Page<T> as PartialSchema>::schema());
        Ref::from_schema_name(name).into()
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Auth {
    Public,
    Key,
    Admin,
}

/// What a route is, beyond its method and path.
struct Op {
    summary: &'static str,
    description: Option<&'static str>,
    tag: &'static str,
    auth: Auth,
    body: Option<(RefOr<Schema>, Option<Value>)>,
    query: Vec<Parameter>,
    headers: Vec<Parameter>,
    paged: bool,
    /// Paged as the points read models are (by user rows, up to 1000).
    points_paged: bool,
    idempotent: bool,
    rate_limited: bool,
    /// Status, description, media type and schema of the answer that succeeds.
    ok: (u16, &'static str, &'static str, Option<RefOr<Schema>>),
    codes: Vec<&'static str>,
}

fn op(summary: &'static str, tag: &'static str, auth: Auth) -> Op {
    Op {
        summary,
        description: None,
        tag,
        auth,
        body: None,
        query: Vec::new(),
        headers: Vec::new(),
        paged: false,
        points_paged: false,
        idempotent: false,
        rate_limited: false,
        ok: (200, "OK", "application/json", None),
        codes: Vec::new(),
    }
}

fn string_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

fn query(name: &str, required: bool, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(if required {
            Required::True
        } else {
            Required::False
        })
        .description(Some(description))
        .schema(Some(schema))
        .build()
}

/// No `default`: a generated client would send it, and with both names sent `pageSize` wins.
fn page_size_schema(max: i32) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(max))
}

fn paging_params() -> Vec<Parameter> {
    paging_params_up_to(
        100,
        "Items per page, 1 to 100 (default 10). Wins over `page_size` when both are sent.",
    )
}

/// The points read models page by user rows, up to 1000 (their default, so that a GAME client
/// reading everything at once gets as much as one bounded answer holds).
fn points_paging_params() -> Vec<Parameter> {
    paging_params_up_to(
        crate::api::readmodels::MAX_POINTS_PAGE_ROWS,
        "User rows per page, 1 to 1000 (default 1000); a page also stops at 1 MiB of award entries. Wins over `page_size` when both are sent.",
    )
}

fn paging_params_up_to(max: i32, page_size_text: &'static str) -> Vec<Parameter> {
    let mut old = query(
        "page_size",
        false,
        "GAME's name of `pageSize`, still accepted.",
        page_size_schema(max),
    );
    old.deprecated = Some(Deprecated::True);
    let mut page = query(
        "page",
        false,
        "GAME's page number: only 1 is accepted (lists page by `nextToken`).",
        ObjectBuilder::new()
            .schema_type(Type::Integer)
            .minimum(Some(1))
            .maximum(Some(1)),
    );
    page.deprecated = Some(Deprecated::True);
    vec![
        query("pageSize", false, page_size_text, page_size_schema(max)),
        old,
        query(
            "nextToken",
            false,
            "The `nextToken` of the previous page of the same list.",
            string_schema(),
        ),
        page,
    ]
}

fn idempotency_header() -> Parameter {
    ParameterBuilder::new()
        .name("Idempotency-Key")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(
            "Makes the write safe to retry: the first request with a key does the work and stores its answer; a retry with the same key and body replays it (`Idempotent-Replayed: true`), with another body answers 422 `idempotency_key_reused`. GAME's `X-Idempotency-Key` is accepted too. At most 255 printable characters.",
        ))
        .schema(Some(string_schema().max_length(Some(255)).min_length(Some(1))))
        .example(Some(json!("walk-1-ana-001")))
        .build()
}

impl Op {
    fn body<T: ToSchema>(mut self, schemas: &mut Schemas) -> Self {
        self.body = Some((schemas.named::<T>(), None));
        self
    }

    fn answers(mut self, status: u16, description: &'static str, schema: RefOr<Schema>) -> Self {
        self.ok = (status, description, "application/json", Some(schema));
        self
    }

    fn codes(mut self, codes: &[&'static str]) -> Self {
        self.codes.extend_from_slice(codes);
        self
    }

    fn paged(mut self) -> Self {
        self.paged = true;
        self
    }

    fn points_paged(mut self) -> Self {
        self.points_paged = true;
        self
    }

    fn query(mut self, parameter: Parameter) -> Self {
        self.query.push(parameter);
        self
    }

    fn describe(mut self, description: &'static str) -> Self {
        self.description = Some(description);
        self
    }

    /// Every code the route can answer: its own, and those of what it does.
    fn all_codes(&self, route: &Route) -> Vec<&'static str> {
        let mut codes = Vec::new();
        if self.body.is_some() {
            codes.extend(["missing_body", "malformed_json", "invalid_body"]);
        }
        if self.paged || self.points_paged {
            codes.extend([
                "invalid_cursor",
                "invalid_page_size",
                "unsupported_pagination",
            ]);
        }
        if self.auth != Auth::Public {
            codes.extend([
                "missing_credentials",
                "invalid_api_key",
                "conflicting_credentials",
                "invalid_authorization",
                "bearer_not_accepted",
                "invalid_token",
                "invalid_token_signature",
                "token_algorithm_mismatch",
                "unsupported_token_algorithm",
                "unknown_token_key",
                "untrusted_issuer",
                "invalid_audience",
                "token_expired",
                "token_not_yet_valid",
                "token_subject_missing",
                "token_tenant_missing",
                "token_keys_unavailable",
            ]);
        }
        if self.auth == Auth::Admin {
            codes.push("admin_required");
        }
        if self.rate_limited {
            codes.push("rate_limited");
        }
        if self.idempotent {
            codes.extend([
                "invalid_idempotency_key",
                "idempotency_key_reused",
                "request_in_flight",
            ]);
        }
        codes.extend(&self.codes);
        if !route.access.actions.is_empty() || route.access.secret {
            codes.extend([
                "internal_error",
                "dependency_unavailable",
                "dependency_timeout",
            ]);
        }
        let mut seen = std::collections::HashSet::new();
        codes.retain(|code| seen.insert(*code));
        codes
    }

    fn build(self, route: &Route) -> Operation {
        let mut operation = OperationBuilder::new()
            .operation_id(Some(route.name))
            .summary(Some(self.summary))
            .description(self.description)
            .tag(self.tag);
        for name in path_parameters(route.path) {
            operation = operation.parameter(path_parameter(route.path, name));
        }
        for parameter in self.query.iter().cloned() {
            operation = operation.parameter(parameter);
        }
        if self.paged {
            for parameter in paging_params() {
                operation = operation.parameter(parameter);
            }
        }
        if self.points_paged {
            for parameter in points_paging_params() {
                operation = operation.parameter(parameter);
            }
        }
        if self.idempotent {
            operation = operation.parameter(idempotency_header());
        }
        for parameter in self.headers.iter().cloned() {
            operation = operation.parameter(parameter);
        }
        if let Some((schema, example)) = &self.body {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(schema.clone()))
                            .example(example.clone())
                            .build(),
                    )
                    .build(),
            ));
        }
        if self.auth != Auth::Public {
            operation = operation
                .security(SecurityRequirement::new(
                    API_KEY_SCHEME,
                    Vec::<String>::new(),
                ))
                .security(SecurityRequirement::new(
                    BEARER_SCHEME,
                    Vec::<String>::new(),
                ));
        }
        let (status, description, media, schema) = self.ok.clone();
        let mut ok = ResponseBuilder::new().description(description);
        if status == 307 {
            ok = ok.header(
                "Location",
                HeaderBuilder::new()
                    .schema(string_schema())
                    .description(Some("`/docs`"))
                    .build(),
            );
        } else {
            ok = ok.content(media, ContentBuilder::new().schema(schema).build());
        }
        // The formats a `format` (or `?format=dot`) query selects, beside the default one.
        let alternatives: &[&str] = match route.name {
            "strategies_graph" => &["text/vnd.graphviz"],
            name if name.starts_with("exports_") && name != "exports_history" => &[
                "application/json",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ],
            _ => &[],
        };
        for media in alternatives {
            // The JSON rows are GAME's columns (docs/api.md); the others are text or bytes.
            let content = if *media == "application/json" {
                ContentBuilder::new().build()
            } else {
                ContentBuilder::new().schema(Some(string_schema())).build()
            };
            ok = ok.content(*media, content);
        }
        if route.name == "docs_asset" || route.name == "console_asset" {
            ok = ok.content(
                "text/css",
                ContentBuilder::new().schema(Some(string_schema())).build(),
            );
        }
        if self.idempotent {
            ok = ok.header(
                "Idempotent-Replayed",
                HeaderBuilder::new()
                    .schema(string_schema().enum_values(Some(["true"])))
                    .description(Some(
                        "`true` when this is the stored answer of an earlier request with the same Idempotency-Key.",
                    ))
                    .build(),
            );
        }
        if crate::identity::rate_limit::LIMITED_ROUTES.contains(&route.name) {
            for (name, description) in [
                (
                    "RateLimit-Policy",
                    "The quotas this request counts against (IETF httpapi draft-10): `\"apiKey\";q=120;w=60, \"ip\";q=240;w=60, …`. On every answer of the route, errors included.",
                ),
                (
                    "RateLimit",
                    "What is left of each quota and seconds until its window ends: `\"apiKey\";r=119;t=42, …`.",
                ),
            ] {
                ok = ok.header(
                    name,
                    HeaderBuilder::new()
                        .schema(string_schema())
                        .description(Some(description))
                        .build(),
                );
            }
        }
        if route.name == "apikey_create" {
            ok = ok.header(
                "Cache-Control",
                HeaderBuilder::new()
                    .schema(string_schema())
                    .description(Some("`no-store`: the answer holds the key's plaintext."))
                    .build(),
            );
        }
        operation = operation.response(status.to_string(), ok.build());
        for (status, codes) in by_status(&self.all_codes(route)) {
            operation = operation.response(status.to_string(), problem_response(status, &codes));
        }
        operation.build()
    }
}

/// The route's codes grouped by status (`DSL_*` stands for the language's codes, 400 and 422).
fn by_status(codes: &[&'static str]) -> BTreeMap<u16, Vec<ProblemCode>> {
    let mut grouped: BTreeMap<u16, Vec<ProblemCode>> = BTreeMap::new();
    for code in codes {
        if *code == DSL {
            for status in [400, 422] {
                grouped.entry(status).or_default().push(ProblemCode {
                    code: DSL,
                    status,
                    meaning: "A custom-strategy program was refused or failed (docs/strategies.md lists the DSL_* codes).",
                });
            }
            continue;
        }
        let registered = problems::lookup(code)
            .unwrap_or_else(|| panic!("openapi.rs names {code}, which is not in problems.rs"));
        grouped
            .entry(registered.status)
            .or_default()
            .push(registered);
    }
    grouped
}

fn problem_response(status: u16, codes: &[ProblemCode]) -> utoipa::openapi::Response {
    let mut description = String::from("Problem: ");
    let names: Vec<String> = codes.iter().map(|p| format!("`{}`", p.code)).collect();
    description.push_str(&names.join(", "));
    description.push('.');
    let example = codes.iter().find(|p| p.code != DSL).map(|p| {
        json!({
            "type": format!("urn:game:problem:{}", p.code),
            "title": lambda_http::http::StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error"),
            "status": status,
            "detail": p.meaning,
            "code": p.code,
        })
    });
    let mut response = ResponseBuilder::new().description(description).content(
        crate::error::PROBLEM_JSON,
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .example(example)
            .build(),
    );
    let retry = codes.iter().any(|p| {
        matches!(
            p.code,
            "rate_limited"
                | "concurrent_modification"
                | "concurrent_award"
                | "request_in_flight"
                | "token_keys_unavailable"
                | "dependency_unavailable"
                | "dependency_timeout"
        )
    });
    if retry {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::Integer))
                .description(Some("Seconds to wait before retrying."))
                .build(),
        );
    }
    response.build()
}

fn path_parameters(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
}

fn path_parameter(path: &str, name: &str) -> Parameter {
    let custom = path.starts_with("/api/v1/strategies/custom/");
    let (description, example, schema) = match name {
        "gameId" => (
            "The game's id (`gameId` of its create answer).",
            json!("0193a0c4-5f6e-7b21-9a44-2f0c1d2e3f40"),
            string_schema().format(Some(utoipa::openapi::SchemaFormat::Custom("uuid".into()))),
        ),
        "externalTaskId" => (
            "The task's externalTaskId.",
            json!("walk-1"),
            string_schema()
                .min_length(Some(1))
                .max_length(Some(200))
                .pattern(Some(crate::ids::TASK_ID_PATTERN)),
        ),
        "externalUserId" => (
            "The user's externalUserId.",
            json!("ana"),
            string_schema().pattern(Some(crate::ids::EXTERNAL_ID_PATTERN)),
        ),
        "prefix" => (
            "The API key's public prefix (`apiKey` in the listing).",
            json!("gme_live_3f9a1c2b"),
            string_schema().min_length(Some(1)),
        ),
        "id" if custom => (
            "A custom strategy version's id, `<familyId>.<version>`.",
            json!("0193a0c6-1d2e-7f30-8a4b-5c6d7e8f9012.1"),
            string_schema().pattern(Some(
                "^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\\.[1-9][0-9]*$",
            )),
        ),
        "id" => (
            "A built-in strategy's id (`GET /api/v1/strategies` lists them).",
            json!("default"),
            string_schema().min_length(Some(1)),
        ),
        "version" => (
            "The version number to roll back to.",
            json!("1"),
            string_schema().pattern(Some("^[1-9][0-9]*$")),
        ),
        "boardKey" => (
            "The leaderboard's key (`points` is the implicit board every game has).",
            json!("weekly"),
            string_schema().pattern(Some("^[A-Za-z0-9_-]{1,40}$")),
        ),
        "key" => (
            "An achievement's key.",
            json!("century"),
            string_schema().pattern(Some(crate::ids::EXTERNAL_ID_PATTERN)),
        ),
        "file" => (
            "A file of the documentation pages.",
            json!("swagger-ui-bundle.js"),
            string_schema().min_length(Some(1)),
        ),
        _ => ("", Value::Null, string_schema().min_length(Some(1))),
    };
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Path)
        .required(Required::True)
        .description(Some(description))
        .schema(Some(schema))
        .example((!example.is_null()).then_some(example))
        .build()
}

/// Codes of every route that writes a game's or task's parameters and strategy.
const PARAMS: &[&str] = &[
    "too_many_params",
    "duplicate_param",
    "invalid_param",
    "invalid_field",
    "unknown_strategy",
    "custom_strategy_not_published",
];

/// What each route of the table is. A route without an entry here fails the generation (and
/// the test that runs it): a route cannot exist without being in the document.
fn describe(name: &str, s: &mut Schemas) -> Option<Op> {
    use Auth::{Admin, Key, Public};
    let o = match name {
        "kpi_health_check" => op("Liveness (GAME's probe)", "health", Public)
            .answers(200, "Running", s.named::<KpiHealth>()),
        "health" => op("Readiness: the table answers a read", "health", Public)
            .answers(200, "Ready", s.named::<Health>())
            .codes(&["table_unreachable"]),
        "games_create" => op("Create a game", "games", Key)
            .body::<CreateGame>(s)
            .answers(201, "The game", s.named::<GameSaved>())
            .codes(&["invalid_slug", "game_exists", "custom_strategy_not_found"])
            .codes(PARAMS),
        "games_list" => op("List the tenant's games, newest first", "games", Key)
            .paged()
            .query(query("externalGameId", false, "Only games whose externalGameId contains this.", string_schema()))
            .query(query("platform", false, "Only games whose platform contains this.", string_schema()))
            .answers(200, "One page of games", s.page::<GameView>()),
        "games_get" => op("Read a game", "games", Key)
            .answers(200, "The game", s.named::<GameView>())
            .codes(&["game_not_found"]),
        "games_patch" => op("Change a game", "games", Key)
            .describe("At least one member. `params` entries name existing parameters by `id`.")
            .body::<PatchGame>(s)
            .answers(200, "The changed game", s.named::<GameSaved>())
            .codes(&["empty_patch", "game_not_found", "invalid_slug", "game_exists", "unknown_param_id", "custom_strategy_not_found", "concurrent_modification"])
            .codes(PARAMS),
        "games_delete" => op("Delete a game and its tasks", "games", Key)
            .describe("Awards and wallets stay, as in GAME.")
            .answers(200, "The deleted game (its params empty)", s.named::<GameView>())
            .codes(&["game_not_found", "concurrent_modification"]),
        "games_duplicate" => op("Copy a game and its tasks", "games", Key)
            .body::<DuplicateGame>(s)
            .answers(201, "The copy", s.named::<GameSaved>())
            .codes(&["invalid_slug", "game_not_found", "game_exists"]),
        "games_strategy" => op("The game's strategy with its effective variables", "games", Key)
            .answers(200, "The strategy", s.named::<EffectiveStrategy>())
            .codes(&["game_not_found", "unknown_strategy", "invalid_param"]),
        "tasks_create" => op("Create a task", "tasks", Key)
            .body::<CreateTask>(s)
            .answers(201, "The task", s.named::<TaskSaved>())
            .codes(&["game_not_found", "task_exists", "invalid_external_task_id", "custom_strategy_not_found"])
            .codes(PARAMS),
        "tasks_bulk" => op("Create up to 100 tasks", "tasks", Key)
            .describe("Each task is created or refused on its own; the answer lists both.")
            .body::<BulkTasks>(s)
            .answers(200, "What was created and what was refused", s.named::<BulkCreated>())
            .codes(&["game_not_found", "too_many_tasks"]),
        "tasks_list" => op("List a game's tasks, by externalTaskId", "tasks", Key)
            .paged()
            .answers(200, "One page of tasks", s.page::<TaskView>())
            .codes(&["game_not_found"]),
        "tasks_get" => op("Read a task", "tasks", Key)
            .answers(200, "The task", s.named::<TaskSaved>())
            .codes(&["game_not_found", "task_not_found"]),
        "tasks_patch" => op("Change a task", "tasks", Key)
            .describe("At least one member. `params` is the task's complete new parameter list.")
            .body::<PatchTask>(s)
            .answers(200, "The changed task", s.named::<TaskSaved>())
            .codes(&["empty_patch", "game_not_found", "task_not_found", "unknown_param_id", "custom_strategy_not_found", "concurrent_modification"])
            .codes(PARAMS),
        "tasks_delete" => op("Delete a task", "tasks", Key)
            .answers(200, "The deleted task", s.named::<TaskDeleted>())
            .codes(&["game_not_found", "task_not_found"]),
        "tasks_duplicate" => op("Copy a task", "tasks", Key)
            .body::<DuplicateTask>(s)
            .answers(201, "The copy", s.named::<TaskSaved>())
            .codes(&["game_not_found", "task_not_found", "task_exists", "invalid_external_task_id"])
            .codes(PARAMS),
        "points_award" => {
            let mut o = op("Award points to a user on a task", "points", Key)
                .describe("The task's strategy scores the request; the award, the user's totals, wallet and ledger commit in one transaction. Safe to retry with an `Idempotency-Key`.")
                .body::<AwardBody>(s)
                .answers(200, "The award", s.named::<AwardResponse>())
                .codes(&["invalid_slug", "game_not_found", "task_not_found", "unknown_strategy", "invalid_param", "strategy_rejected", "custom_strategy_not_found", "custom_strategy_not_published", "custom_strategy_without_program", "custom_strategy_no_match", "concurrent_award", "invalid_time_zone", DSL]);
            o.idempotent = true;
            o.rate_limited = true;
            o
        }
        "points_task_action" => {
            let mut o = op("Log a user's action on an open task", "points", Key)
                .describe("Actions never award points (as GAME's code).")
                .body::<TaskActionBody>(s)
                .answers(201, "The action", s.named::<TaskActionCreated>())
                .codes(&["invalid_field", "invalid_slug", "game_not_found", "task_not_found", "task_not_open", "concurrent_modification"]);
            o.rate_limited = true;
            o
        }
        "users_actions" => {
            let mut o = op("Log a user's action", "users", Key)
                .describe("Creates the user if needed.")
                .body::<UserActionBody>(s)
                .answers(201, "The action", s.named::<UserActionCreated>())
                .codes(&["invalid_field", "invalid_slug", "concurrent_modification"]);
            o.rate_limited = true;
            o
        }
        "users_wallet" => op("A user's wallet and ledger, newest first", "users", Key)
            .paged()
            .answers(200, "The wallet and one page of its ledger", s.named::<WalletView>())
            .codes(&["user_not_found"]),
        "users_convert_preview" => op("What converting points to coins would give", "users", Key)
            .query(query("points", true, "Points to convert: a number greater than 0 with at most 6 decimals.", string_schema().pattern(Some(r"^[0-9]{1,15}(\.[0-9]{1,6})?$")).examples([json!("100")])))
            .answers(200, "The conversion", s.named::<Conversion>())
            .codes(&["invalid_points", "user_not_found"]),
        "users_convert" => {
            let mut o = op("Convert points to coins", "users", Key)
                .describe("The balance check is the write's condition: a wallet never goes below zero. Safe to retry with an `Idempotency-Key`.")
                .body::<ConvertBody>(s)
                .answers(200, "The conversion, with its ledger entry's id", s.named::<Conversion>())
                .codes(&["invalid_points", "user_not_found", "insufficient_points", "concurrent_modification"]);
            o.idempotent = true;
            o
        }
        "ledger_reverse" => {
            let mut o = op("Reverse (part of) an award", "ledger", Admin)
                .describe("A compensating `ReverseAward` entry: the wallet's points and the user's task total drop in the same transaction; the award stays, marked with `reversedPoints` and its reversal ids. Refused (409) when the wallet no longer holds the points, unless `allowNegative`.")
                .body::<ReverseBody>(s)
                .answers(200, "The reversal entry, the wallet after it and the award", s.named::<LedgerResult>())
                .codes(&["invalid_amount", "invalid_field", "award_not_found", "award_already_reversed", "reversal_exceeds_award", "insufficient_points", "user_not_found", "concurrent_modification"]);
            o.idempotent = true;
            o
        }
        "ledger_adjust" => {
            let mut o = op("Adjust a wallet by a signed amount", "ledger", Admin)
                .describe("Goodwill, correction, migration: `reason` is mandatory. Never below zero unless `allowNegative`.")
                .body::<AdjustBody>(s)
                .answers(200, "The adjustment entry and the wallet after it", s.named::<LedgerResult>())
                .codes(&["invalid_amount", "invalid_currency", "invalid_field", "user_not_found", "insufficient_points", "insufficient_coins", "concurrent_modification"]);
            o.idempotent = true;
            o
        }
        "ledger_transfer" => {
            let mut o = op("Transfer points or coins to another user", "ledger", Admin)
                .describe("Both sides in one transaction (a `TransferOut` and a `TransferIn` entry, linked), or neither; the sender never goes below zero.")
                .body::<TransferBody>(s)
                .answers(200, "Both entries and both wallets after them", s.named::<LedgerResult>())
                .codes(&["invalid_amount", "invalid_currency", "invalid_field", "invalid_slug", "transfer_to_self", "user_not_found", "insufficient_points", "insufficient_coins", "concurrent_modification"]);
            o.idempotent = true;
            o
        }
        "ledger_spend" => {
            let mut o = op("Spend coins on an item", "ledger", Key)
                .describe("The price leaves the wallet in one write conditioned on the balance read; expired holds are released first.")
                .body::<SpendBody>(s)
                .answers(200, "The spend entry and the wallet after it", s.named::<LedgerResult>())
                .codes(&["invalid_amount", "invalid_field", "invalid_body", "user_not_found", "insufficient_coins", "concurrent_modification"]);
            o.idempotent = true;
            o
        }
        "ledger_hold" => {
            let mut o = op("Hold coins for a two-step purchase", "ledger", Key)
                .describe("The price moves to `heldCoins` until the hold is captured or voided; after `ttlSeconds` it can no longer be captured and its coins return to the balance.")
                .body::<SpendBody>(s)
                .answers(200, "The hold, its entry and the wallet after it", s.named::<LedgerResult>())
                .codes(&["invalid_amount", "invalid_field", "invalid_ttl", "user_not_found", "insufficient_coins", "concurrent_modification"]);
            o.idempotent = true;
            o
        }
        "ledger_capture" => {
            let mut o = op("Capture a hold: the purchase completes", "ledger", Key)
                .describe("The body is optional (`{}` or `{reason}`).")
                .body::<CloseBody>(s)
                .answers(200, "The capture entry, the closed hold and the wallet", s.named::<LedgerResult>())
                .codes(&["invalid_field", "hold_not_found", "hold_closed", "hold_expired", "user_not_found", "concurrent_modification"]);
            o.idempotent = true;
            o
        }
        "ledger_void" => {
            let mut o = op("Void a hold: its coins return", "ledger", Key)
                .describe("The body is optional (`{}` or `{reason}`). An expired hold may be voided: its coins return at once.")
                .body::<CloseBody>(s)
                .answers(200, "The void entry, the closed hold and the wallet", s.named::<LedgerResult>())
                .codes(&["invalid_field", "hold_not_found", "hold_closed", "user_not_found", "concurrent_modification"]);
            o.idempotent = true;
            o
        }
        "ledger_history" => op("A wallet's full ledger, oldest first", "ledger", Key)
            .describe("Every entry with its signed amounts, the balances after it, its linked entry, actor and reason. Follow `nextToken` to export it all.")
            .paged()
            .answers(200, "The wallet and one page of its entries", s.named::<LedgerHistory>())
            .codes(&["user_not_found"]),
        "games_points" => op("Per task, each user's total", "points", Key)
            .describe("Served from each user's aggregate (never from the awards). Paged: at most `pageSize` user rows across the game's tasks (in externalTaskId, then externalUserId order); `nextToken` continues where the page stopped, inside a task if need be.")
            .answers(200, "The game's totals (one page)", s.named::<GamePoints>())
            .points_paged()
            .codes(&["game_not_found"]),
        "games_points_details" => op("Per task, each user's total and awards", "points", Key)
            .describe("As `GET /games/{gameId}/points`, each row with its awards; a page also stops at 1 MiB of award entries (a user with more continues on the next page, the row repeated with the rest of its awards).")
            .answers(200, "The game's totals with their awards (one page)", s.named::<GamePointsDetails>())
            .points_paged()
            .codes(&["game_not_found"]),
        "games_users" => op("Per task, the users with points", "points", Key)
            .answers(200, "The game's users", s.named::<GameUsers>())
            .codes(&["game_not_found"]),
        "games_user_points" => op("A user's total on each task of a game", "points", Key)
            .answers(200, "The user's totals", s.list::<UserTaskTotal>())
            .codes(&["game_not_found", "user_not_found"]),
        "tasks_points" => op("Each user's total on a task", "points", Key)
            .describe("GAME's bare array, paged: at most `pageSize` rows; when more follow, the `Next-Token` header carries the `nextToken` of the next page (and `Link` the same as `rel=\"next\"`).")
            .answers(200, "The totals, by externalUserId (one page)", s.list::<UserTotal>())
            .points_paged()
            .codes(&["game_not_found", "task_not_found"]),
        "tasks_points_details" => op("Each user's total and awards on a task", "points", Key)
            .describe("As `GET …/tasks/{externalTaskId}/points`, each row with its awards; a page also stops at 1 MiB of award entries. The next page's cursor is in the `Next-Token` header.")
            .answers(200, "The totals with their awards (one page)", s.list::<UserTotalWithDetails>())
            .points_paged()
            .codes(&["game_not_found", "task_not_found"]),
        "tasks_user_points" => op("A user's total on a task", "points", Key)
            .answers(200, "The total", s.named::<UserTotal>())
            .codes(&["game_not_found", "task_not_found", "user_not_found"]),
        "users_points" => op("A user's points, by game and task", "points", Key)
            .answers(200, "The user's points", s.list::<UserGamePoints>())
            .codes(&["user_not_found"]),
        "games_user_points_simulated" => op("greencrowd's signed projection for a user", "points", Key)
            .describe("What each greencrowd task of the game would pay this user now. Assigns the user's control group on first use; nothing else is stored.")
            .answers(200, "The signed projection", s.named::<GreencrowdSimulation>())
            .codes(&["game_not_found", "invalid_slug", "simulation_unavailable", "unknown_strategy", "invalid_param", "strategy_rejected", "concurrent_modification"]),
        "users_points_query" => op("Totals of several users", "points", Key)
            .body::<UsersQuery>(s)
            .answers(200, "One summary per user, in the order asked", s.list::<UserSummary>())
            .codes(&["too_many_users"]),
        "apikey_create" => op("Create an API key", "api keys", Admin)
            .body::<CreateKey>(s)
            .answers(201, "The key, with its plaintext (shown once)", s.named::<ApiKeyCreated>())
            .codes(&["invalid_field"]),
        "apikey_list" => op("List the tenant's API keys, oldest first", "api keys", Admin)
            .paged()
            .answers(200, "One page of keys", s.page::<ApiKeyView>()),
        "apikey_revoke" => op("Revoke an API key", "api keys", Admin)
            .describe("Other warm functions stop accepting it within the key cache's TTL (5 s by default).")
            .answers(200, "The revoked key", s.named::<ApiKeyRevoked>())
            .codes(&["api_key_not_found"]),
        "levels_get" => op("The game's level ladder", "progression", Key)
            .answers(200, "The ladder", s.named::<Ladder>())
            .codes(&["game_not_found", "ladder_not_found"]),
        "levels_put" => op("Replace the game's level ladder", "progression", Key)
            .describe("Users' levels follow from their totals at their next award; a crossing is recorded once, with that award.")
            .body::<Ladder>(s)
            .answers(200, "The ladder as stored", s.named::<Ladder>())
            .codes(&["game_not_found", "invalid_body", "invalid_ladder", "concurrent_update"]),
        "streak_get" => op("The game's streak rule", "progression", Key)
            .answers(200, "The rule", s.named::<StreakRule>())
            .codes(&["game_not_found", "streak_rule_not_found"]),
        "streak_put" => op("Replace the game's streak rule", "progression", Key)
            .body::<StreakRule>(s)
            .answers(200, "The rule as stored", s.named::<StreakRule>())
            .codes(&["game_not_found", "invalid_body", "invalid_streak_rule", "invalid_time_zone", "concurrent_update"]),
        "achievements_list" => op("The game's achievement definitions", "progression", Key)
            .answers(200, "The definitions", s.named::<AchievementList>())
            .codes(&["game_not_found"]),
        "achievements_put" => op("Create or replace an achievement definition", "progression", Key)
            .body::<AchievementDef>(s)
            .answers(200, "The definition as stored", s.named::<AchievementDef>())
            .codes(&["game_not_found", "invalid_body", "invalid_achievement", "too_many_achievements", "concurrent_update"]),
        "achievements_delete" => op("Delete an achievement definition", "progression", Key)
            .describe("Grants already made stay in the users' history.")
            .answers(200, "Deleted", s.named::<Message>())
            .codes(&["game_not_found", "achievement_not_found", "concurrent_update"]),
        "achievements_stats" => op("How many users hold an achievement", "progression", Key)
            .answers(200, "The statistics", s.named::<AchievementStats>())
            .codes(&["game_not_found", "achievement_not_found"]),
        "users_progression" => op("A user's level, achievements and streak in a game", "progression", Key)
            .describe("The streak is evaluated now, in the user's zone: a missed period beyond the freezes held reads as broken without waiting for an award.")
            .answers(200, "The user's progression", s.named::<UserProgressionView>())
            .codes(&["game_not_found", "invalid_slug"]),
        "users_achievement_grant" => op("Grant an achievement (admin)", "progression", Admin)
            .body::<AdminGrant>(s)
            .answers(200, "The grant entry", s.named::<AdminGrantDone>())
            .codes(&["game_not_found", "invalid_slug", "invalid_body", "invalid_field", "achievement_not_found", "concurrent_update"]),
        "users_achievement_revoke" => op("Revoke an achievement (admin)", "progression", Admin)
            .describe("A new entry: the grant stays in the history.")
            .body::<AdminGrant>(s)
            .answers(200, "The revocation entry", s.named::<AdminGrantDone>())
            .codes(&["game_not_found", "invalid_slug", "invalid_body", "invalid_field", "achievement_not_found", "achievement_not_held", "concurrent_update"]),
        "webhooks_create" => op("Subscribe an endpoint to events", "webhooks", Admin)
            .describe("Deliveries are signed per Standard Webhooks (docs/events.md). The secret is in this answer only.")
            .body::<CreateWebhook>(s)
            .answers(201, "The subscription and its signing secret (shown once)", s.named::<WebhookWithSecret>())
            .codes(&["invalid_webhook_url", "unknown_event_type", "invalid_field"]),
        "webhooks_list" => op("List the tenant's webhook subscriptions", "webhooks", Admin)
            .answers(200, "Every subscription (never a secret)", s.list::<WebhookView>()),
        "webhooks_get" => op("Read a webhook subscription", "webhooks", Admin)
            .answers(200, "The subscription", s.named::<WebhookView>())
            .codes(&["webhook_not_found"]),
        "webhooks_update" => op("Change a webhook subscription", "webhooks", Admin)
            .describe("`enabled: true` re-enables an endpoint disabled after failing for days.")
            .body::<PatchWebhook>(s)
            .answers(200, "The changed subscription", s.named::<WebhookView>())
            .codes(&["webhook_not_found", "invalid_webhook_url", "unknown_event_type", "concurrent_modification"]),
        "webhooks_delete" => op("Delete a webhook subscription", "webhooks", Admin)
            .answers(200, "The deleted subscription", s.named::<WebhookView>())
            .codes(&["webhook_not_found"]),
        "webhooks_rotate" => op("Rotate a webhook's signing secret", "webhooks", Admin)
            .describe("The new secret signs from now; the old one also signs until the overlap ends (both signatures in `webhook-signature`).")
            .body::<RotateWebhook>(s)
            .answers(200, "The subscription and its new secret (shown once)", s.named::<WebhookWithSecret>())
            .codes(&["webhook_not_found", "invalid_field", "concurrent_modification"]),
        "webhooks_test" => op("Send a test event to an endpoint", "webhooks", Admin)
            .answers(200, "The queued test event", s.named::<Queued>())
            .codes(&["webhook_not_found", "webhooks_not_configured"]),
        "webhooks_deliveries" => op("Recent deliveries to an endpoint", "webhooks", Admin)
            .query(query("limit", false, "How many, most recent first (1 to 200, default 50).", string_schema()))
            .answers(200, "Deliveries with status, attempts and the last status code", s.list::<DeliveryView>())
            .codes(&["webhook_not_found", "invalid_field"]),
        "webhooks_redeliver" => op("Deliver one event to an endpoint again", "webhooks", Admin)
            .answers(200, "The queued delivery", s.named::<Queued>())
            .codes(&["webhook_not_found", "delivery_not_found", "webhooks_not_configured"]),
        "webhooks_redeliver_dlq" => op("Redeliver an endpoint's dead letters", "webhooks", Admin)
            .describe("Moves this endpoint's messages from the dead-letter queue back to the delivery queue, with fresh attempts.")
            .answers(200, "The events queued again", s.named::<Queued>())
            .codes(&["webhook_not_found", "webhooks_not_configured"]),
        "strategies_list" => op("The built-in strategies", "strategies", Public)
            .answers(200, "Every built-in strategy with its default variables", s.list::<StrategyView>()),
        "strategies_get" => op("A built-in strategy", "strategies", Public)
            .answers(200, "The strategy with its default variables", s.named::<StrategyView>())
            .codes(&["strategy_not_found"]),
        "strategies_graph" => {
            let mut o = op("A strategy's decision logic as a graph (SVG, or DOT)", "strategies", Key)
                .describe("Built-in strategies (their declared branches) need no credential; `custom:<familyId>` (the published version) or `<familyId>.<version>` needs the tenant's key. Rendered in-process: no Graphviz.")
                .query(query("format", false, "`svg` (default) or `dot`.", string_schema().enum_values(Some(["svg", "dot"]))))
                .codes(&["strategy_not_found", "custom_strategy_not_found", "custom_strategy_not_published", "unknown_strategy", "custom_strategy_without_program", "invalid_graph_format", DSL]);
            o.ok = (200, "The graph (`image/svg+xml`; `text/vnd.graphviz` for DOT)", "image/svg+xml", Some(string_schema().into()));
            o
        }
        "dashboard_summary" => op("The tenant's dashboard series (GAME's summary)", "dashboard", Key)
            .describe("From per-day counters written with each award, game and action: 16 Query requests whatever the range (at most 731 days). Only the caller's tenant (GAME sums every tenant).")
            .query(query("start_date", false, "First day (ISO 8601 date or date-time, UTC day). Default: 29 days before end_date.", string_schema()))
            .query(query("end_date", false, "Last day, included. Default: today (UTC).", string_schema()))
            .query(query("group_by", true, "`day`, `week` (GAME's weeks of a month: 1–7, 8–14, 15–21, 22–28, 29+) or `month`.", string_schema().enum_values(Some(["day", "week", "month"]))))
            .answers(200, "Each series, bucket by bucket", s.named::<DashboardSummary>())
            .codes(&["invalid_date", "invalid_date_range", "invalid_group_by"]),
        "dashboard_logs" => op("The tenant's outcomes by level (GAME's summary/logs)", "dashboard", Key)
            .describe("info = games opened + users created + actions logged, success = awards committed, error = award requests answered with an error (docs/api.md, \"Dashboard\").")
            .query(query("start_date", false, "First day (ISO 8601).", string_schema()))
            .query(query("end_date", false, "Last day, included.", string_schema()))
            .answers(200, "Counts by level", s.named::<DashboardLogs>())
            .codes(&["invalid_date", "invalid_date_range"]),
        "exports_users" | "exports_user_points" | "exports_user_interactions" | "exports_wallet_transactions" => {
            s.named::<ExportLink>();
            let mut o = op(match name {
                "exports_users" => "Export the tenant's users",
                "exports_user_points" => "Export the tenant's awards (GAME's user points)",
                "exports_user_interactions" => "Export the tenant's user actions",
                _ => "Export the tenant's wallet transactions (ledger)",
            }, "exports", Admin)
                .describe("GAME's columns. Up to GAME_EXPORT_INLINE_MAX_BYTES (4 MB) the file is the body (Content-Disposition names it); a larger one is written to the export bucket and the answer is an `ExportLink` (JSON) with a presigned URL valid 15 minutes. Every export leaves an audit row (`/exports/history`).")
                .query(query("format", false, "`csv` (default), `json` or `xlsx`.", string_schema().enum_values(Some(["csv", "json", "xlsx"]))))
                .query(query("dateFrom", false, "Only rows created at or after (ISO 8601; a date is its whole UTC day).", string_schema()))
                .query(query("dateTo", false, "Only rows created at or before.", string_schema()))
                .query(query("limit", false, "At most this many rows, 1 to 100000 (default 10000).", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(100000))))
                .codes(&["invalid_export_format", "invalid_export_limit", "invalid_date", "invalid_date_range", "export_too_large"]);
            if name != "exports_users" {
                o = o
                    .query(query("externalGameId", false, "Only this game's rows (404 if the tenant has no such game).", string_schema()))
                    .query(query("externalTaskId", false, "Only this task's rows.", string_schema()))
                    .codes(&["invalid_slug", "invalid_external_task_id", "game_not_found"]);
            }
            o.ok = (200, "The file (text/csv, application/json or the xlsx type), or an ExportLink", "text/csv", Some(string_schema().into()));
            o
        }
        "exports_history" => op("The tenant's exports, newest first", "exports", Admin)
            .query(query("scope", false, "`mine` (default: the caller's) or `all`.", string_schema().enum_values(Some(["mine", "all"]))))
            .query(query("limit", false, "At most this many rows, 1 to 200 (default 50).", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(200))))
            .answers(200, "Audit rows", s.list::<ExportAuditView>())
            .codes(&["invalid_export_limit", "invalid_export_scope"]),
        "strategies_schema" => op("A built-in strategy's variables and their types", "strategies", Public)
            .answers(200, "The strategy's variables", s.named::<StrategySchema>())
            .codes(&["strategy_not_found"]),
        "custom_create" => op("Create a custom strategy (version 1, DRAFT)", "custom strategies", Key)
            .body::<CreateBody>(s)
            .answers(201, "The new version", s.named::<CustomStrategyView>())
            .codes(CUSTOM_WRITE)
            .codes(&["custom_strategy_name_exists"]),
        "custom_list" => op("List the tenant's custom strategies", "custom strategies", Key)
            .paged()
            .query(query("status", false, "Only versions in this status.", string_schema().enum_values(Some(["DRAFT", "PUBLISHED", "ARCHIVED"]))))
            .query(query("type", false, "Only versions of this type.", string_schema().enum_values(Some(["DSL_FULL", "DSL_EXTEND"]))))
            .answers(200, "One page of versions, by name, newest version first", s.page::<CustomStrategyView>())
            .codes(&["invalid_status", "invalid_strategy_type"]),
        "custom_templates" => op("Templates to start a custom strategy from", "custom strategies", Key)
            .answers(200, "The templates", s.list::<TemplateView>()),
        "custom_import" => op("Import a custom strategy", "custom strategies", Key)
            .describe("Like create, but `astJson` and `blocklyXml` are required, and a taken name is renamed `<name> (importada YYYY-MM-DD)` as GAME does.")
            .body::<CreateBody>(s)
            .answers(201, "The imported version", s.named::<CustomStrategyView>())
            .codes(CUSTOM_WRITE)
            .codes(&["ast_required", "blockly_xml_required", "custom_strategy_name_exists"]),
        "custom_get" => op("Read a custom strategy version", "custom strategies", Key)
            .answers(200, "The version", s.named::<CustomStrategyView>())
            .codes(&["custom_strategy_not_found"]),
        "custom_update" => op("Change a custom strategy", "custom strategies", Key)
            .describe("A DRAFT changes in place; a PUBLISHED or ARCHIVED version gets a new DRAFT version with the changes.")
            .body::<UpdateBody>(s)
            .answers(200, "The changed (or new) version", s.named::<CustomStrategyView>())
            .codes(CUSTOM_WRITE)
            .codes(&["custom_strategy_not_found", "name_immutable", "custom_strategy_archived", "concurrent_modification"]),
        "custom_publish" => op("Publish a version", "custom strategies", Admin)
            .describe("Archives the version it displaces, in one transaction.")
            .answers(200, "The published version", s.named::<CustomStrategyView>())
            .codes(&["custom_strategy_not_found", "custom_strategy_archived", "custom_strategy_without_program", "concurrent_modification", DSL]),
        "custom_archive" => op("Archive a version", "custom strategies", Admin)
            .answers(200, "The archived version", s.named::<CustomStrategyView>())
            .codes(&["custom_strategy_not_found", "concurrent_modification"]),
        "custom_versions" => op("Every version of a custom strategy, newest first", "custom strategies", Key)
            .answers(200, "The versions", s.list::<CustomStrategyView>())
            .codes(&["custom_strategy_not_found"]),
        "custom_simulate" => op("Run a submitted program without storing anything", "custom strategies", Key)
            .body::<SimulateBody>(s)
            .answers(200, "What the program scored", s.named::<SimulationResult>())
            .codes(&["invalid_field", "invalid_strategy_type", "parent_required", "parent_not_allowed", "parent_strategy_not_found", "unknown_game", "invalid_param", DSL]),
        "custom_simulate_stored" => op("Run a stored version without storing anything", "custom strategies", Key)
            .body::<SimulateBody>(s)
            .answers(200, "What the version scored", s.named::<SimulationResult>())
            .codes(&["invalid_field", "custom_strategy_not_found", "custom_strategy_without_program", "unknown_game", "invalid_param", DSL]),
        "custom_usage" => op("The games and tasks that run a custom strategy", "custom strategies", Key)
            .answers(200, "Where the family is used", s.named::<Usage>())
            .codes(&["custom_strategy_not_found"]),
        "custom_metrics" => op("A version's execution-log metrics", "custom strategies", Key)
            .query(query("since", false, "Start of the window (RFC 3339).", string_schema().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))))
            .query(query("until", false, "End of the window (RFC 3339).", string_schema().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))))
            .answers(200, "The metrics", s.named::<StrategyMetrics>())
            .codes(&["invalid_datetime", "custom_strategy_not_found"]),
        "custom_compare" => op("Two versions' metrics side by side", "custom strategies", Key)
            .query(query("a", true, "A version id (`<familyId>.<version>`).", string_schema()))
            .query(query("b", true, "Another version id.", string_schema()))
            .query(query("since", false, "Start of the window (RFC 3339).", string_schema().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))))
            .query(query("until", false, "End of the window (RFC 3339).", string_schema().format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::DateTime)))))
            .answers(200, "Both versions' metrics and b − a", s.named::<MetricsComparison>())
            .codes(&["missing_query", "invalid_datetime", "custom_strategy_not_found"]),
        "custom_rollback" => op("Publish an earlier version again", "custom strategies", Admin)
            .answers(200, "The published version", s.named::<CustomStrategyView>())
            .codes(&["invalid_version", "custom_strategy_not_found", "custom_strategy_version_not_found", "custom_strategy_already_published", "custom_strategy_archived", "custom_strategy_without_program", "concurrent_modification", DSL]),
        "leaderboards_list" => op("A game's leaderboards, the implicit `points` board first", "leaderboards", Key)
            .answers(200, "The boards", s.named::<LeaderboardList>())
            .codes(&["game_not_found"]),
        "leaderboards_create" => op("Define a leaderboard on the game", "leaderboards", Key)
            .describe("Period boundaries follow `timeZone` (IANA), DST included. Awards count from the next award on.")
            .body::<CreateLeaderboard>(s)
            .answers(201, "The board", s.named::<LeaderboardView>())
            .codes(LEADERBOARD_WRITE)
            .codes(&["leaderboard_exists", "too_many_leaderboards"]),
        "leaderboards_get" => op("Read a leaderboard's definition", "leaderboards", Key)
            .answers(200, "The board", s.named::<LeaderboardView>())
            .codes(&["game_not_found", "leaderboard_not_found"]),
        "leaderboards_patch" => op("Change a leaderboard", "leaderboards", Key)
            .describe("Changing what counts (metric, tasks, period, zone) starts the board over with a new `id`; `tieBreak` and `maxEntries` keep it.")
            .body::<PatchLeaderboard>(s)
            .answers(200, "The changed board", s.named::<LeaderboardView>())
            .codes(LEADERBOARD_WRITE)
            .codes(&["empty_patch", "leaderboard_not_found", "leaderboard_implicit"]),
        "leaderboards_delete" => op("Delete a leaderboard", "leaderboards", Key)
            .describe("Its entries stop being read; those of periods expire with their TTL.")
            .answers(200, "The deleted board", s.named::<LeaderboardView>())
            .codes(&["game_not_found", "leaderboard_not_found", "leaderboard_implicit", "concurrent_modification"]),
        "leaderboards_top" => op("The top of a leaderboard's period", "leaderboards", Key)
            .describe("Score descending; among equal scores the first to reach it first (`first_reached`) or a shared rank (`shared`). Up to the board's `maxEntries`.")
            .query(query("limit", false, "Entries per page, 1 to 100 (default 10).", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(100))))
            .query(query("cursor", false, "`nextCursor` of the previous page.", string_schema()))
            .query(query("period", false, "A period key (`2026-W48`, `2026-12-02`, `2026-12`, `all`) or an RFC 3339 instant inside it; default the current period. Closed periods stay readable 90 days.", string_schema()))
            .answers(200, "One page of the period", s.named::<LeaderboardPage>())
            .codes(&["game_not_found", "leaderboard_not_found", "invalid_period", "invalid_limit", "invalid_cursor"]),
        "leaderboards_user" => op("A user's rank on a leaderboard, and the entries around", "leaderboards", Key)
            .describe("`rank` and `score` are `null` when the user has no entry in the period.")
            .query(query("around", false, "How many entries above and below the user to list, 0 to 25 (default 0).", ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).maximum(Some(25))))
            .query(query("period", false, "A period key or an RFC 3339 instant inside it; default the current period.", string_schema()))
            .answers(200, "The user's standing", s.named::<LeaderboardStanding>())
            .codes(&["invalid_slug", "game_not_found", "leaderboard_not_found", "invalid_period", "invalid_limit"]),
        "leaderboards_standings" => op("A user's standing on every board of the game", "leaderboards", Key)
            .answers(200, "One standing per board, current periods", s.named::<LeaderboardStandings>())
            .codes(&["invalid_slug", "game_not_found"]),
        "root" => {
            let mut o = op("Redirect to the API documentation (GAME's behaviour)", "docs", Public);
            o.ok = (307, "Redirect to `/docs`", "", None);
            o
        }
        "docs" => html(op("The API documentation (Swagger UI)", "docs", Public)),
        "redocs" => html(op("The API documentation (Redoc)", "docs", Public)),
        "openapi" => op("This document", "docs", Public).answers(
            200,
            "The OpenAPI 3.1 document",
            ObjectBuilder::new().schema_type(Type::Object).into(),
        ),
        "docs_asset" => {
            let mut o = op("A file of the documentation pages", "docs", Public)
                .codes(&["asset_not_found"]);
            o.ok = (200, "The file (JavaScript or CSS)", "text/javascript", Some(string_schema().into()));
            o
        }
        "console" => html(op("The admin console (a single-page app; docs/console.md)", "console", Public)),
        "console_asset" => {
            let mut o = op("A file of the admin console", "console", Public)
                .codes(&["asset_not_found"]);
            o.ok = (200, "The file (JavaScript or CSS)", "text/javascript", Some(string_schema().into()));
            o
        }
        _ => return None,
    };
    Some(o)
}

/// Codes of a leaderboard's create and patch.
const LEADERBOARD_WRITE: &[&str] = &[
    "game_not_found",
    "invalid_leaderboard",
    "unknown_time_zone",
    "invalid_period",
    "invalid_external_task_id",
    "concurrent_modification",
];

/// Codes of the custom-strategy create, import and update.
const CUSTOM_WRITE: &[&str] = &[
    "invalid_field",
    "invalid_strategy_type",
    "parent_required",
    "parent_not_allowed",
    "parent_strategy_not_found",
    "custom_strategy_too_large",
    DSL,
];

fn html(mut o: Op) -> Op {
    o.ok = (
        200,
        "An HTML page (it works offline: its scripts are served by this API)",
        "text/html",
        Some(string_schema().into()),
    );
    o
}
