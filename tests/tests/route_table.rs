//! The route table is the only list of routes: the binaries, the dev API's router and
//! template.yaml must each be exactly that table.

use game_functions::routes::{ROUTES, Route, match_route};
use game_local::template;
use game_local::template::PolicyStatement;
use std::collections::BTreeSet;
use std::path::Path;

/// (index name, [(attribute, key type)], projection)
type IndexShape = (String, Vec<(String, String)>, String);

fn concrete_path(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "some-value"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[test]
fn binaries_are_exactly_the_route_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/src/bin");
    let mut binaries = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        let source = std::fs::read_to_string(&path).unwrap();
        // The documentation routes serve through serve_docs, with their embedded files; the
        // event workers (not routes) through serve_worker.
        assert!(
            source.contains(&format!(
                "serve(&game_functions::routes::{})",
                name.to_uppercase()
            )) || source.contains(&format!("serve_docs(\"{name}\", "))
                || (game_functions::lambda::WORKERS.contains(&name.as_str())
                    && source.contains(&format!("serve_worker(\"{name}\")"))),
            "{name}.rs must serve its own route"
        );
        binaries.insert(name);
    }
    let mut routes: BTreeSet<String> = ROUTES.iter().map(|r| r.name.to_owned()).collect();
    routes.extend(
        game_functions::lambda::WORKERS
            .iter()
            .map(|w| (*w).to_owned()),
    );
    assert_eq!(binaries, routes);
}

/// A binary names its route's static (so it links that handler only): the static's
/// identifier must be its route's name.
#[test]
fn each_route_static_is_named_after_its_route() {
    assert_eq!(game_functions::routes::IDENTIFIERS.len(), ROUTES.len());
    for (identifier, route) in game_functions::routes::IDENTIFIERS {
        assert_eq!(*identifier, route.name.to_uppercase());
    }
}

#[test]
fn template_functions_are_exactly_the_route_table() {
    let functions = template::functions().unwrap();
    let in_template: BTreeSet<(String, String, String)> = functions
        .iter()
        .map(|f| (f.binary.clone(), f.method.clone(), f.path.clone()))
        .collect();
    let in_table: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .map(|r| (r.name.to_owned(), r.method.to_string(), r.path.to_owned()))
        .collect();
    assert_eq!(in_template, in_table);
    assert_eq!(
        functions.len(),
        ROUTES.len(),
        "one function and one event per route"
    );
}

/// The inline policy a route's Access stands for: its table actions on the table, `Query` on
/// each index it reads, `GetSecretValue` on the secret, the export bucket's objects. Nothing else.
fn expected_statements(route: &Route) -> Vec<PolicyStatement> {
    let allow = |actions: Vec<&str>, resource: String| PolicyStatement {
        effect: "Allow".into(),
        actions: actions.into_iter().map(str::to_owned).collect(),
        resources: vec![resource],
    };
    let mut statements = Vec::new();
    if !route.access.actions.is_empty() {
        let mut actions: Vec<&str> = route.access.actions.iter().map(|a| a.iam()).collect();
        actions.sort();
        statements.push(allow(actions, "!GetAtt Table.Arn".into()));
    }
    for index in route.access.indexes {
        statements.push(allow(
            vec!["dynamodb:Query"],
            format!("!Sub ${{Table.Arn}}/index/{index}"),
        ));
    }
    if route.access.secret {
        statements.push(allow(
            vec!["secretsmanager:GetSecretValue"],
            "!Ref Secret".into(),
        ));
    }
    if route.access.bucket {
        statements.push(allow(
            vec!["s3:GetObject", "s3:PutObject"],
            "!Sub ${ExportBucket.Arn}/*".into(),
        ));
    }
    if route.access.enqueue {
        statements.push(allow(
            vec!["sqs:SendMessage"],
            "!GetAtt WebhookQueue.Arn".into(),
        ));
    }
    if route.access.drain_dlq {
        statements.push(allow(
            vec![
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:ReceiveMessage",
            ],
            "!GetAtt WebhookDeadLetterQueue.Arn".into(),
        ));
    }
    statements.sort();
    statements
}

/// The Policies block to paste into template.yaml for a route (shown when they differ).
fn policies_yaml(route: &Route) -> String {
    let statements = expected_statements(route);
    if statements.is_empty() {
        return "      (no Policies: the function touches no AWS resource)\n".into();
    }
    let mut yaml =
        String::from("      Policies:\n        - Version: \"2012-10-17\"\n          Statement:\n");
    for statement in statements {
        yaml.push_str(&format!(
            "            - Effect: Allow\n              Action: [{}]\n              Resource: {}\n",
            statement.actions.join(", "),
            match statement.resources[0].strip_prefix("!Sub ") {
                Some(text) => format!("!Sub \"{text}\""),
                None => statement.resources[0].clone(),
            }
        ));
    }
    yaml
}

#[test]
fn each_function_is_granted_exactly_its_routes_access() {
    let functions = template::functions().unwrap();
    let schema = template::table_schema().unwrap();
    for route in ROUTES {
        for index in route.access.indexes {
            assert!(
                schema.indexes.iter().any(|i| i.name == *index),
                "{}: index {index} is not in the table",
                route.name
            );
        }
        let function = functions
            .iter()
            .find(|f| f.binary == route.name)
            .unwrap_or_else(|| panic!("{} has no function in template.yaml", route.name));
        assert!(
            function.other_policies.is_empty(),
            "{}: only inline statements derived from the route table, not {:?}",
            route.name,
            function.other_policies
        );
        assert_eq!(
            function.statements,
            expected_statements(route),
            "{} ({}): its policy must be exactly its route's Access; expected\n{}",
            route.name,
            function.logical_id,
            policies_yaml(route)
        );
        // Runtime, architecture, memory, logging, tracing and environment come from Globals,
        // so every function is deployed the same way.
        for property in &function.properties {
            assert!(
                ["Policies", "Events"].contains(&property.as_str()),
                "{}: {property} belongs in Globals",
                route.name
            );
        }
    }
}

#[test]
fn dev_router_serves_exactly_the_route_table() {
    for route in ROUTES {
        let path = concrete_path(route.path);
        let (matched, params) = match_route(&route.method, &path)
            .unwrap_or_else(|| panic!("{} not routed", route.path));
        assert_eq!(matched.name, route.name);
        let expected: Vec<String> = route
            .path
            .split('/')
            .filter_map(|s| {
                s.strip_prefix('{')
                    .and_then(|s| s.strip_suffix('}'))
                    .map(str::to_owned)
            })
            .collect();
        assert_eq!(
            params.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>(),
            expected
        );
    }
    // And nothing else: a method or path outside the table is not routed.
    for (method, path) in [
        ("PUT", "/api/v1/games"),
        ("GET", "/api/v1/unknown"),
        ("GET", "/games"),
        ("POST", "/api/v1/strategies"),
    ] {
        let method = method.parse().unwrap();
        assert!(match_route(&method, path).is_none(), "{method} {path}");
    }
}

#[tokio::test]
async fn local_table_equals_the_templates_schema() {
    let client = game_tests::dynamodb_client().await;
    let name = game_tests::unique("schema");
    template::create_table(&client, &name).await.unwrap();
    let schema = template::table_schema().unwrap();
    let table = client
        .describe_table()
        .table_name(&name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();

    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    let expected: Vec<(String, String)> = schema
        .keys
        .iter()
        .map(|k| (k.attribute.clone(), k.key_type.clone()))
        .collect();
    assert_eq!(keys, expected);

    let mut attributes: Vec<(String, String)> = table
        .attribute_definitions()
        .iter()
        .map(|a| {
            (
                a.attribute_name().to_owned(),
                a.attribute_type().as_str().to_owned(),
            )
        })
        .collect();
    attributes.sort();
    let mut expected_attributes = schema.attributes.clone();
    expected_attributes.sort();
    assert_eq!(attributes, expected_attributes);

    let indexes: Vec<IndexShape> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            (
                index.index_name().unwrap().to_owned(),
                index
                    .key_schema()
                    .iter()
                    .map(|k| {
                        (
                            k.attribute_name().to_owned(),
                            k.key_type().as_str().to_owned(),
                        )
                    })
                    .collect(),
                index
                    .projection()
                    .and_then(|p| p.projection_type())
                    .map(|p| p.as_str().to_owned())
                    .unwrap(),
            )
        })
        .collect();
    let expected_indexes: Vec<IndexShape> = schema
        .indexes
        .iter()
        .map(|i| {
            (
                i.name.clone(),
                i.keys
                    .iter()
                    .map(|k| (k.attribute.clone(), k.key_type.clone()))
                    .collect(),
                i.projection.clone(),
            )
        })
        .collect();
    assert_eq!(indexes, expected_indexes);

    let ttl = client
        .describe_time_to_live()
        .table_name(&name)
        .send()
        .await
        .unwrap();
    let ttl = ttl.time_to_live_description().unwrap();
    assert_eq!(ttl.attribute_name(), Some(schema.ttl_attribute.as_str()));
    assert_eq!(
        ttl.time_to_live_status().map(|s| s.as_str()),
        Some("ENABLED")
    );
}

#[test]
fn code_uses_the_templates_key_names() {
    use game_functions::store;
    let schema = template::table_schema().unwrap();
    let keys: Vec<&str> = schema.keys.iter().map(|k| k.attribute.as_str()).collect();
    assert_eq!(keys, [store::PK, store::SK]);
    let index = schema
        .indexes
        .iter()
        .find(|i| i.name == store::GSI1)
        .expect("GSI1 in template");
    let index_keys: Vec<&str> = index.keys.iter().map(|k| k.attribute.as_str()).collect();
    assert_eq!(index_keys, [store::GSI1PK, store::GSI1SK]);
    assert_eq!(schema.ttl_attribute, store::TTL_ATTRIBUTE);
}
