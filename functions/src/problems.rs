//! The problem-code registry: every `code` a problem+json answer can carry, with its HTTP status
//! and what it means. docs/api.md and the OpenAPI document list it (both generated from here);
//! a unit test below fails when the source answers a code that is not registered, with another
//! status than the registered one, or when a registered code is no longer used.
//!
//! The custom-strategy language's `DSL_*` codes come from `game_scoring::dsl::DslCode` (each
//! with its own status) and are listed after these.

/// One registered problem code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemCode {
    pub code: &'static str,
    pub status: u16,
    pub meaning: &'static str,
}

macro_rules! registry {
    ($($code:literal => $status:literal, $meaning:literal;)*) => {
        /// The codes of the API (the DSL's are added by [`all`]), grouped by cause.
        pub const PROBLEM_CODES: &[ProblemCode] = &[
            $(ProblemCode { code: $code, status: $status, meaning: $meaning },)*
        ];
    };
}

registry! {
    // The request itself.
    "missing_body" => 400, "The route needs a JSON body and got none.";
    "malformed_json" => 400, "The body is not valid JSON.";
    "body_not_object" => 400, "The route takes a JSON object and the body is another JSON value (an array, a string, a number).";
    "body_not_array" => 400, "The route takes a JSON array (of external user ids) and the body is another JSON value.";
    "body_too_large" => 413, "The request body is larger than the route accepts (64 KiB; 1 MiB for bulk tasks and custom-strategy programs).";
    "field_too_large" => 422, "A text or `data` field is longer than its documented limit (docs/api.md).";
    "callback_data_too_large" => 422, "The award's stored data with the strategy's callbackData would exceed 64 KiB.";
    "invalid_body" => 422, "The body is JSON but not of the expected shape (a field missing, of the wrong type, or unknown where unknown fields are refused).";
    "invalid_cursor" => 400, "`nextToken` was not issued by this list (or was altered).";
    "invalid_page_size" => 422, "`pageSize` (`page_size`) is not a whole number from 1 to 100.";
    "unsupported_pagination" => 422, "GAME's numbered `page` other than 1: lists page by `nextToken`.";
    "invalid_slug" => 422, "An externalGameId or externalUserId is not 3 to 60 letters, digits, `_` or `-`.";
    "invalid_external_task_id" => 422, "An externalTaskId is empty, longer than 200 characters, has surrounding spaces, or holds `/ ? # %` or control characters.";
    "invalid_field" => 422, "A text field is empty or too long (the detail names it and its limit).";
    "invalid_aggregate_shards" => 422, "A game's `aggregateShards` is not a whole number from 1 to 16, or a patch lowers it (shards are only added).";
    "invalid_idempotency_key" => 422, "The idempotency key is longer than 255 characters or holds control characters.";
    "invalid_date" => 400, "A dashboard `start_date`/`end_date` or an export `dateFrom`/`dateTo` is not an ISO 8601 date or date-time.";
    "invalid_date_range" => 400, "The dashboard range ends before it starts or covers more than 731 days, or an export's `dateFrom` is after `dateTo`.";
    "invalid_group_by" => 400, "The dashboard's `group_by` is missing or not day, week or month (400, as GAME).";
    "invalid_export_format" => 422, "An export's `format` is not csv, json or xlsx.";
    "invalid_export_limit" => 422, "An export's `limit` is not a whole number from 1 to 100,000 (a history's: 1 to 200).";
    "invalid_export_scope" => 422, "The export history's `scope` is not mine or all.";
    "invalid_graph_format" => 422, "A strategy graph's `format` is not svg or dot.";
    "export_too_large" => 413, "The export is larger than a direct answer can carry and no export bucket is configured: lower `limit` or narrow the dates.";
    "invalid_datetime" => 422, "`since` or `until` is not an RFC 3339 date-time, or `since` is later than `until`.";
    "missing_query" => 422, "A required query parameter is missing (compare needs `a` and `b`).";
    "invalid_status" => 422, "The `status` filter is not DRAFT, PUBLISHED or ARCHIVED.";
    "invalid_strategy_type" => 422, "A custom strategy `type` (or the `type` filter) is not DSL_FULL or DSL_EXTEND.";
    "invalid_version" => 422, "The version in the path is not a whole number from 1.";
    "invalid_points" => 422, "`points` to convert is not a number greater than 0 with at most 6 decimals (or is too large).";
    "invalid_amount" => 422, "A ledger amount or price is zero, negative where it must be positive, has more decimals than the wallet keeps (points 6, coins 12), or is beyond 10^15.";
    "invalid_currency" => 422, "`currency` is not `points` or `coins`.";
    "invalid_ttl" => 422, "A hold's `ttlSeconds` is not a whole number from 1 to 86400.";
    "transfer_to_self" => 422, "A transfer names the sender as its recipient.";
    "empty_patch" => 422, "A PATCH body changes nothing.";
    "invalid_leaderboard" => 422, "A leaderboard definition is invalid: its key (1 to 40 letters, digits, `_`, `-`; not `standings`), metric, tieBreak, maxEntries (1 to 1000) or task list.";
    "unknown_time_zone" => 422, "`timeZone` is not an IANA time zone name.";
    "invalid_period" => 422, "A leaderboard period (or `?period=`) is not one of the board's period keys or an RFC 3339 instant, or a custom period lacks its start or length.";
    "invalid_limit" => 422, "`limit` (1 to 100) or `around` (0 to 25) is out of range or not a whole number.";
    "too_many_leaderboards" => 422, "The game already has 5 leaderboards besides the implicit one.";
    "too_many_tasks" => 422, "A bulk create holds more than 100 tasks.";
    "too_many_users" => 422, "A points query names more than 100 users.";
    "too_many_params" => 422, "More than 100 parameters.";
    "duplicate_param" => 422, "The same parameter key appears twice.";
    "invalid_param" => 422, "A parameter value is of a kind the owner does not allow, does not fit its strategy variable's type, or a game PATCH entry has no id.";
    "unknown_param_id" => 422, "A PATCH names a parameter id the game or task does not have.";
    "payload_too_large" => 413, "The body is larger than 10 MB (the dev API; API Gateway refuses such requests itself).";
    "route_not_found" => 404, "No route serves this method and path (the dev API; API Gateway answers its own 404).";
    // Credentials.
    "missing_credentials" => 401, "Neither an X-API-Key header nor a bearer token was sent.";
    "invalid_api_key" => 401, "The API key is unknown, revoked or malformed.";
    "conflicting_credentials" => 401, "An API key and a bearer token of different tenants were sent together.";
    "invalid_authorization" => 401, "The Authorization header is not `Bearer <token>`.";
    "bearer_not_accepted" => 401, "A bearer token was sent but this deployment trusts no token issuer.";
    "invalid_token" => 401, "The bearer token is not a well-formed JWT, or a claim (exp, nbf) is malformed.";
    "invalid_token_signature" => 401, "The bearer token's signature does not verify.";
    "token_algorithm_mismatch" => 401, "The token's `alg` is not the one its key is for.";
    "unsupported_token_algorithm" => 401, "The token's `alg` is not one this API accepts.";
    "unknown_token_key" => 401, "The token's `kid` is not among the issuer's signing keys.";
    "untrusted_issuer" => 401, "The token's issuer (`iss`) is not the configured one.";
    "invalid_audience" => 401, "The token's audience (`aud`) is not this API.";
    "token_expired" => 401, "The token has expired.";
    "token_not_yet_valid" => 401, "The token's `nbf` is in the future.";
    "token_subject_missing" => 401, "The token names no subject.";
    "token_tenant_missing" => 401, "The token names no usable tenant.";
    "admin_required" => 403, "The route is for administrators (an admin API key or a token with the admin role).";
    "rate_limited" => 429, "A rate limit or the daily quota of the award and action routes is spent; `Retry-After` says when to retry.";
    // What the request names.
    "game_not_found" => 404, "No game with this gameId in the caller's tenant.";
    "leaderboard_not_found" => 404, "The game has no leaderboard with this key.";
    "task_not_found" => 404, "No task with this externalTaskId in the game.";
    "user_not_found" => 404, "No user with this externalUserId in the caller's tenant (or no points on the task).";
    "strategy_not_found" => 404, "No built-in strategy with this id.";
    "api_key_not_found" => 404, "No API key with this prefix in the caller's tenant.";
    "custom_strategy_not_found" => 404, "No custom strategy (version) with this id in the caller's tenant.";
    "custom_strategy_version_not_found" => 404, "The family has no such version to roll back to.";
    "parent_strategy_not_found" => 404, "A DSL_EXTEND parent that is not a built-in strategy.";
    "asset_not_found" => 404, "The documentation pages or the admin console have no such file.";
    "award_not_found" => 404, "No award with this awardId in the caller's tenant.";
    "hold_not_found" => 404, "No hold with this holdId on the user's wallet.";
    "task_not_open" => 410, "The task is not `open` (closed or deleted), so it takes no actions.";
    "unknown_strategy" => 422, "A strategyId that names neither a built-in strategy nor a custom strategy of the tenant.";
    "unknown_game" => 422, "A greencrowd simulation names an externalGameId the tenant does not have.";
    "invalid_ladder" => 422, "A level ladder is empty, longer than 100 levels, or its levels do not increase from 1, its thresholds decrease or are negative, a name is empty or `data` is not an object.";
    "invalid_achievement" => 422, "An achievement definition is malformed: its key is not 3 to 60 letters, digits, `_` or `-` (or not the path's), its name is empty, `expiresAt` is not RFC 3339, a threshold is out of range, or its predicate is not a valid condition of the custom-strategy language (the detail carries the language's message).";
    "invalid_streak_rule" => 422, "A streak rule's `freezeEvery` is 0, its `freezeCap` is above 10, or its task list is too long.";
    "invalid_time_zone" => 422, "A `timeZone` is not an IANA time zone name (e.g. `America/Santiago`).";
    "too_many_achievements" => 422, "The game already defines 50 achievements.";
    "ladder_not_found" => 404, "The game has no level ladder.";
    "streak_rule_not_found" => 404, "The game has no streak rule.";
    "achievement_not_found" => 404, "The game defines no achievement with this key.";
    // Conflicts.
    "achievement_not_held" => 409, "Revoking an achievement the user does not hold (never granted, or already revoked).";
    "concurrent_update" => 409, "Progression definitions or a user's progression kept changing while the write was retried; retry after `Retry-After`.";
    "game_exists" => 409, "Another game of the tenant has this externalGameId (the answer carries its `gameId`).";
    "leaderboard_exists" => 409, "The game already has a leaderboard with this key (`points` is the implicit board).";
    "leaderboard_implicit" => 409, "The implicit `points` board cannot be changed or deleted.";
    "task_exists" => 409, "The game already has a task with this externalTaskId.";
    "insufficient_points" => 409, "The wallet holds fewer points than a conversion, transfer, adjustment or award reversal takes (a reversal of converted points needs an admin's `allowNegative`); nothing was written.";
    "insufficient_coins" => 409, "The wallet has fewer coins available than a spend, hold, transfer or adjustment takes (nothing was written).";
    "award_already_reversed" => 409, "The award was reversed in full already: nothing remains to reverse.";
    "reversal_exceeds_award" => 409, "A partial reversal asks for more points than remain of the award.";
    "hold_closed" => 409, "The hold was already captured, voided or released at its expiry.";
    "hold_expired" => 409, "The hold's TTL has passed: it cannot be captured (void it, or hold again).";
    "concurrent_modification" => 409, "The item kept changing while the write was retried; retry after `Retry-After`.";
    "concurrent_award" => 409, "Too many concurrent awards on this user and task; retry with the same idempotency key.";
    "request_in_flight" => 409, "A request with this idempotency key is still being processed; retry after `Retry-After`.";
    "idempotency_key_reused" => 422, "The idempotency key was used with a different request body.";
    "custom_strategy_name_exists" => 409, "The tenant already has a custom strategy with this name.";
    "custom_strategy_archived" => 409, "The version is archived and cannot change or be published.";
    "custom_strategy_already_published" => 409, "Rolling back to the version that is already published.";
    "name_immutable" => 422, "A custom strategy's name cannot change.";
    "ast_required" => 422, "An import without `astJson`.";
    "blockly_xml_required" => 422, "An import without `blocklyXml`.";
    "parent_required" => 400, "A DSL_EXTEND strategy without `parentStrategyId`.";
    "parent_not_allowed" => 400, "A DSL_FULL strategy with a `parentStrategyId`.";
    "custom_strategy_too_large" => 422, "The program and Blockly XML together exceed 300,000 bytes.";
    "custom_strategy_without_program" => 422, "The version has no program to publish or run.";
    "custom_strategy_not_published" => 422, "A game or task names a custom strategy with no published version.";
    "custom_strategy_no_match" => 422, "The custom strategy matched no rule and has no default, so it awards nothing.";
    "strategy_rejected" => 422, "The strategy refused the award (e.g. greengage without `data.minutes`) or computed points out of range.";
    // Ours.
    "internal_error" => 500, "A fault on the server's side; the detail carries no internals. Report the request id.";
    "dependency_unavailable" => 503, "DynamoDB (or another dependency) was busy (throttling, capacity, a conflicting transaction) or failing; retry after `Retry-After`, with the same Idempotency-Key for a write.";
    "dependency_timeout" => 503, "DynamoDB (or another dependency) did not answer within its time-outs; retry after `Retry-After`.";
    "table_unreachable" => 503, "The data store did not answer the readiness probe.";
    "token_keys_unavailable" => 503, "The token issuer's signing keys could not be fetched; retry after `Retry-After`.";
    "simulation_unavailable" => 503, "The deployment has no simulation signing key configured.";
    // Webhooks (docs/events.md).
    "webhook_not_found" => 404, "No webhook subscription with that id in the caller's tenant.";
    "delivery_not_found" => 404, "No delivery of that event to that subscription.";
    "invalid_webhook_url" => 422, "The url is not https, carries credentials, or points at a private, loopback or link-local address (http to loopback is allowed in local mode only).";
    "unknown_event_type" => 422, "An event type in `eventTypes` is not one GAME emits (docs/events.md lists them).";
    "webhooks_not_configured" => 503, "The deployment has no delivery queue or dead-letter queue configured.";
}

/// What a `DSL_*` code means, by its status.
fn dsl_meaning(status: u16) -> &'static str {
    if status == 400 {
        "The custom-strategy program is invalid or failed at run time (docs/strategies.md lists each DSL_* code)."
    } else {
        "The custom-strategy program hit a limit (nodes, depth, value size, time) or its parent refused (docs/strategies.md)."
    }
}

/// Every registered code: the API's, then the custom-strategy language's.
pub fn all() -> Vec<ProblemCode> {
    let mut codes = PROBLEM_CODES.to_vec();
    codes.extend(game_scoring::dsl::DslCode::ALL.iter().map(|code| {
        let status = code.http_status();
        ProblemCode {
            code: code.as_str(),
            status,
            meaning: dsl_meaning(status),
        }
    }));
    codes
}

pub fn lookup(code: &str) -> Option<ProblemCode> {
    all().into_iter().find(|p| p.code == code)
}

/// The registry as the Markdown table docs/api.md holds (between its `problem-codes` markers).
pub fn markdown_table() -> String {
    let mut table = String::from("| Status | Code | Meaning |\n|---:|---|---|\n");
    let mut codes = all();
    codes.sort_by_key(|p| p.status);
    for p in codes {
        table.push_str(&format!(
            "| {} | `{}` | {} |\n",
            p.status, p.code, p.meaning
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// The constructors that take a literal code, and the status each gives.
    const CONSTRUCTORS: [(&str, Option<u16>); 10] = [
        ("ApiError::bad_request(", Some(400)),
        ("ApiError::unauthorized(", Some(401)),
        ("ApiError::not_found(", Some(404)),
        ("ApiError::conflict(", Some(409)),
        ("ApiError::unprocessable(", Some(422)),
        ("ApiError::unavailable(", Some(503)),
        // error.rs's own constructors (e.g. dependency_unavailable) build on these.
        ("Self::unavailable(", Some(503)),
        ("JwtError::invalid(", Some(401)),
        ("ApiError::new(", None),
        ("Self::new(", None),
    ];

    fn status_of(name: &str) -> Option<u16> {
        Some(match name {
            "BAD_REQUEST" => 400,
            "UNAUTHORIZED" => 401,
            "FORBIDDEN" => 403,
            "NOT_FOUND" => 404,
            "CONFLICT" => 409,
            "GONE" => 410,
            "PAYLOAD_TOO_LARGE" => 413,
            "UNPROCESSABLE_ENTITY" => 422,
            "TOO_MANY_REQUESTS" => 429,
            "INTERNAL_SERVER_ERROR" => 500,
            "SERVICE_UNAVAILABLE" => 503,
            _ => return None,
        })
    }

    /// The first argument of `text` if it is a string literal, or a `&str` constant of the
    /// crate (`consts`: name → value) such as `error::DEPENDENCY_UNAVAILABLE`.
    fn literal_argument<'a>(
        text: &'a str,
        consts: &'a BTreeMap<String, String>,
    ) -> Option<&'a str> {
        let text = text.trim_start();
        if let Some(rest) = text.strip_prefix('"') {
            let end = rest.find('"')?;
            let after = rest[end + 1..].trim_start();
            return (after.starts_with(',') || after.starts_with(')')).then(|| &rest[..end]);
        }
        let name: String = text
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit())
            .collect();
        consts.get(&name).map(String::as_str)
    }

    /// `const NAME: &str = "snake_case";` in the (flattened) sources: code constants.
    fn code_constants(sources: &[(String, String)]) -> BTreeMap<String, String> {
        let mut consts = BTreeMap::new();
        for (_, flat) in sources {
            for (at, _) in flat.match_indices("const ") {
                let rest = &flat[at + 6..];
                let Some((name, value)) = rest.split_once(": &str = \"") else {
                    continue;
                };
                let Some(value) = value.split('"').next() else {
                    continue;
                };
                let snake = value.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
                if snake && name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_') {
                    consts.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        consts
    }

    /// Every (code, status) the source of the functions crate and the dev API answer with a
    /// literal code. A code passed as a variable is either a DSL code (registered from
    /// `DslCode`) or a `JwtError::invalid` code, found at its literal.
    fn codes_in_source() -> BTreeMap<String, BTreeSet<(u16, String)>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        rust_files(&root.join("src"), &mut files);
        rust_files(&root.join("../infra/local/src"), &mut files);
        let mut found: BTreeMap<String, BTreeSet<(u16, String)>> = BTreeMap::new();
        // Without the unit-test module at the end of each file (other `#[cfg(test)]` items stay).
        let sources: Vec<(String, String)> = files
            .iter()
            .map(|file| {
                let source = std::fs::read_to_string(file).unwrap();
                let flat: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
                let flat = flat
                    .split("#[cfg(test)] mod tests")
                    .next()
                    .unwrap_or_default();
                let place = file
                    .strip_prefix(root)
                    .unwrap_or(file)
                    .display()
                    .to_string();
                (place, flat.to_owned())
            })
            .collect();
        let consts = code_constants(&sources);
        for (place, flat) in &sources {
            for (constructor, status) in CONSTRUCTORS {
                for (at, _) in flat.match_indices(constructor) {
                    let args = &flat[at + constructor.len()..];
                    let (status, args) = match status {
                        Some(status) => (status, args),
                        None => {
                            // ApiError::new(StatusCode::X, "code", ...)
                            let Some(rest) = args.trim_start().strip_prefix("StatusCode::") else {
                                continue; // a variable status: a DSL code (dsl_error)
                            };
                            let name: String = rest
                                .chars()
                                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                                .collect();
                            let status = status_of(&name)
                                .unwrap_or_else(|| panic!("{place}: unknown status {name}"));
                            (
                                status,
                                rest[name.len()..].trim_start().trim_start_matches(','),
                            )
                        }
                    };
                    if let Some(code) = literal_argument(args, &consts) {
                        found
                            .entry(code.to_owned())
                            .or_default()
                            .insert((status, place.clone()));
                    }
                }
            }
        }
        // The one code built without a constructor literal.
        found
            .entry("internal_error".into())
            .or_default()
            .insert((500, "src/error.rs".into()));
        found
    }

    #[test]
    fn every_code_answered_is_registered_with_its_status() {
        let found = codes_in_source();
        assert!(found.len() > 50, "the scan found too few codes: {found:?}");
        let mut problems = Vec::new();
        for (code, uses) in &found {
            match lookup(code) {
                None => problems.push(format!(
                    "`{code}` (used in {uses:?}) is not in the registry: add it to PROBLEM_CODES in functions/src/problems.rs with its status and meaning"
                )),
                Some(registered) => {
                    for (status, place) in uses {
                        if *status != registered.status {
                            problems.push(format!(
                                "`{code}` is answered with {status} in {place} but registered as {}",
                                registered.status
                            ));
                        }
                    }
                }
            }
        }
        for registered in PROBLEM_CODES {
            if !found.contains_key(registered.code) {
                problems.push(format!(
                    "`{}` is registered but nothing answers it any more: remove it",
                    registered.code
                ));
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn codes_are_unique_and_meanings_are_sentences() {
        let mut seen = BTreeSet::new();
        for p in all() {
            assert!(seen.insert(p.code), "{} is registered twice", p.code);
            assert!((400..600).contains(&p.status), "{}", p.code);
            assert!(
                p.meaning.ends_with('.') && p.meaning.contains(' '),
                "{}",
                p.code
            );
        }
    }
}
