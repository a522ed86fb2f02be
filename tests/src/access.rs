//! Least privilege, checked where it matters: every DynamoDB request a handler makes while a
//! test calls its route must be covered by that route's declared `Access` (which is also its
//! IAM policy in template.yaml, see tests/tests/route_table.rs). A handler that starts calling
//! something new fails the tests here instead of failing with AccessDenied after a deploy.
//!
//! Set `GAME_ACCESS_RECORD=<file>` to append every (route, permission) the tests exercise to
//! that file: the quickest way to write a new route's declaration.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use game_functions::routes::{Action, Route};
use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex};

tokio::task_local! {
    /// The route whose handler the current task is running (set by `TestApp::call*`).
    pub static CURRENT_ROUTE: &'static Route;
}

/// One permission a request needs, in the route table's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needed {
    Table(Action),
    Index(String),
    /// An operation no route may declare (Scan, DescribeTable, ...) or another table.
    Undeclarable(String),
}

impl std::fmt::Display for Needed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Needed::Table(action) => write!(f, "{}", action.iam()),
            Needed::Index(index) => write!(f, "dynamodb:Query on index {index}"),
            Needed::Undeclarable(what) => write!(f, "{what}"),
        }
    }
}

fn action_named(name: &str) -> Option<Action> {
    Action::ALL
        .into_iter()
        .find(|a| a.iam().strip_prefix("dynamodb:") == Some(name))
}

/// What IAM checks for one DynamoDB request (operation from `x-amz-target`, body as sent).
pub fn needed(operation: &str, body: &Value, table: &str) -> Vec<Needed> {
    let mut needs = Vec::new();
    let check_table = |name: Option<&str>, needs: &mut Vec<Needed>| {
        if name != Some(table) {
            needs.push(Needed::Undeclarable(format!(
                "{operation} on table {}",
                name.unwrap_or("?")
            )));
        }
    };
    match operation {
        "TransactWriteItems" => {
            for item in body["TransactItems"].as_array().into_iter().flatten() {
                for (kind, action) in [
                    ("Put", Action::PutItem),
                    ("Update", Action::UpdateItem),
                    ("Delete", Action::DeleteItem),
                    ("ConditionCheck", Action::ConditionCheckItem),
                ] {
                    if let Some(part) = item.get(kind) {
                        check_table(part["TableName"].as_str(), &mut needs);
                        needs.push(Needed::Table(action));
                    }
                }
            }
        }
        "TransactGetItems" => {
            for item in body["TransactItems"].as_array().into_iter().flatten() {
                check_table(item["Get"]["TableName"].as_str(), &mut needs);
                needs.push(Needed::Table(Action::GetItem));
            }
        }
        "BatchGetItem" | "BatchWriteItem" => {
            for name in body["RequestItems"]
                .as_object()
                .into_iter()
                .flat_map(|m| m.keys())
            {
                check_table(Some(name), &mut needs);
            }
            needs.push(Needed::Table(action_named(operation).expect("known")));
        }
        "Query" => {
            check_table(body["TableName"].as_str(), &mut needs);
            match body["IndexName"].as_str() {
                Some(index) => needs.push(Needed::Index(index.to_owned())),
                None => needs.push(Needed::Table(Action::Query)),
            }
        }
        other => match action_named(other) {
            Some(action) => {
                check_table(body["TableName"].as_str(), &mut needs);
                needs.push(Needed::Table(action));
            }
            None => needs.push(Needed::Undeclarable(other.to_owned())),
        },
    }
    needs
}

pub fn allowed(route: &Route, need: &Needed) -> bool {
    match need {
        Needed::Table(action) => route.access.actions.contains(action),
        Needed::Index(index) => route.access.indexes.contains(&index.as_str()),
        Needed::Undeclarable(_) => false,
    }
}

/// The interceptor: checks each request made inside a route's call against its declaration.
#[derive(Debug, Clone)]
pub struct AccessGuard {
    pub table: String,
    /// Violations seen so far; `TestApp` asserts none after each call.
    pub violations: Arc<Mutex<Vec<String>>>,
}

impl Intercept for AccessGuard {
    fn name(&self) -> &'static str {
        "AccessGuard"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        // Requests outside a route call (test set-up, minting keys) are not a handler's.
        let Ok(route) = CURRENT_ROUTE.try_with(|route| *route) else {
            return Ok(());
        };
        let operation = crate::operation_of(context);
        let body: Value = context
            .request()
            .body()
            .bytes()
            .and_then(|bytes| serde_json::from_slice(bytes).ok())
            .unwrap_or(Value::Null);
        let needs = needed(&operation, &body, &self.table);
        if let Ok(path) = std::env::var("GAME_ACCESS_RECORD") {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            // One write per request: test threads append concurrently.
            let lines: String = needs
                .iter()
                .map(|need| format!("{}\t{need}\n", route.name))
                .collect();
            file.write_all(lines.as_bytes())?;
        }
        let denied: Vec<String> = needs
            .iter()
            .filter(|need| !allowed(route, need))
            .map(|need| format!("route {} called {need}, which its Access does not declare (functions/src/routes.rs; template.yaml grants exactly that)", route.name))
            .collect();
        if denied.is_empty() {
            return Ok(());
        }
        self.violations.lock().unwrap().extend(denied.clone());
        // Fail the request as IAM would, so the handler sees AccessDenied-like behaviour.
        Err(denied.join("; ").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transactions_need_each_item_kind() {
        let body = json!({"TransactItems": [
            {"Put": {"TableName": "t"}},
            {"ConditionCheck": {"TableName": "t"}},
            {"Update": {"TableName": "t"}}
        ]});
        assert_eq!(
            needed("TransactWriteItems", &body, "t"),
            vec![
                Needed::Table(Action::PutItem),
                Needed::Table(Action::ConditionCheckItem),
                Needed::Table(Action::UpdateItem)
            ]
        );
    }

    #[test]
    fn index_queries_need_the_index_and_other_tables_are_refused() {
        let body = json!({"TableName": "t", "IndexName": "GSI1"});
        assert_eq!(
            needed("Query", &body, "t"),
            vec![Needed::Index("GSI1".into())]
        );
        assert_eq!(
            needed("GetItem", &json!({"TableName": "other"}), "t")[0],
            Needed::Undeclarable("GetItem on table other".into())
        );
        assert!(matches!(
            needed("Scan", &json!({"TableName": "t"}), "t")[0],
            Needed::Undeclarable(_)
        ));
    }

    #[test]
    fn routes_allow_only_what_they_declare() {
        let route = game_functions::routes::by_name("health").unwrap();
        assert!(allowed(route, &Needed::Table(Action::GetItem)));
        assert!(!allowed(route, &Needed::Table(Action::PutItem)));
        assert!(!allowed(route, &Needed::Index("GSI1".into())));
    }
}
