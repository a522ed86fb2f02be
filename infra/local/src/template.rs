//! Reads template.yaml: the table schema (the only one), and each function's route and binary.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use serde_yaml::Value;

/// The template, compiled in so every binary and test sees the same file.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

fn parse() -> Result<Value, String> {
    serde_yaml::from_str(TEMPLATE).map_err(|e| format!("template.yaml: {e}"))
}

fn text(value: &Value, key: &str) -> Result<String, String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| format!("template.yaml: missing text field {key}"))
}

fn list<'v>(value: &'v Value, key: &str) -> Result<&'v Vec<Value>, String> {
    value
        .get(key)
        .and_then(Value::as_sequence)
        .ok_or_else(|| format!("template.yaml: missing list {key}"))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPart {
    pub attribute: String,
    pub key_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexSchema {
    pub name: String,
    pub keys: Vec<KeyPart>,
    pub projection: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSchema {
    /// (attribute name, scalar type)
    pub attributes: Vec<(String, String)>,
    pub keys: Vec<KeyPart>,
    pub indexes: Vec<IndexSchema>,
    pub ttl_attribute: String,
}

fn key_parts(value: &Value) -> Result<Vec<KeyPart>, String> {
    list(value, "KeySchema")?
        .iter()
        .map(|part| {
            Ok(KeyPart {
                attribute: text(part, "AttributeName")?,
                key_type: text(part, "KeyType")?,
            })
        })
        .collect()
}

pub fn table_schema() -> Result<TableSchema, String> {
    let template = parse()?;
    let properties = template
        .get("Resources")
        .and_then(|r| r.get("Table"))
        .and_then(|t| t.get("Properties"))
        .ok_or("template.yaml: Resources.Table.Properties missing")?;
    let attributes = list(properties, "AttributeDefinitions")?
        .iter()
        .map(|a| Ok((text(a, "AttributeName")?, text(a, "AttributeType")?)))
        .collect::<Result<_, String>>()?;
    let indexes = match properties.get("GlobalSecondaryIndexes") {
        None => Vec::new(),
        Some(_) => list(properties, "GlobalSecondaryIndexes")?
            .iter()
            .map(|index| {
                Ok(IndexSchema {
                    name: text(index, "IndexName")?,
                    keys: key_parts(index)?,
                    projection: index
                        .get("Projection")
                        .map(|p| text(p, "ProjectionType"))
                        .transpose()?
                        .unwrap_or_else(|| "ALL".into()),
                })
            })
            .collect::<Result<_, String>>()?,
    };
    let ttl = properties
        .get("TimeToLiveSpecification")
        .ok_or("template.yaml: the table has no TimeToLiveSpecification")?;
    Ok(TableSchema {
        attributes,
        keys: key_parts(properties)?,
        indexes,
        ttl_attribute: text(ttl, "AttributeName")?,
    })
}

/// One statement of a function's inline policy, normalised for comparison: actions sorted,
/// resources as written (`!GetAtt Table.Arn`, `!Sub ${Table.Arn}/index/GSI1`, `!Ref Secret`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PolicyStatement {
    pub effect: String,
    pub actions: Vec<String>,
    pub resources: Vec<String>,
}

/// A function of the template as the route-table check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateFunction {
    pub logical_id: String,
    pub binary: String,
    pub method: String,
    pub path: String,
    /// Its inline policy statements, sorted.
    pub statements: Vec<PolicyStatement>,
    /// Any other policy it is given (SAM policy templates, managed policy ARNs), by name.
    pub other_policies: Vec<String>,
    /// The keys of its Properties (the rest comes from Globals).
    pub properties: Vec<String>,
}

/// A scalar or a short-form intrinsic (`!GetAtt X.Arn`) as text.
fn render(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Tagged(tagged) => format!("{} {}", tagged.tag, render(&tagged.value)),
        Value::Sequence(items) => items.iter().map(render).collect::<Vec<_>>().join(" "),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    }
}

/// A string or a list of them (IAM accepts both for Action and Resource).
fn one_or_many(value: Option<&Value>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(Value::Sequence(items)) => items.iter().map(render).collect(),
        Some(other) => vec![render(other)],
    }
}

fn policies(properties: &Value) -> (Vec<PolicyStatement>, Vec<String>) {
    let mut statements = Vec::new();
    let mut others = Vec::new();
    let entries = match properties.get("Policies") {
        None => Vec::new(),
        Some(Value::Sequence(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    };
    for policy in entries {
        match policy.get("Statement").and_then(Value::as_sequence) {
            Some(list) => {
                for statement in list {
                    let mut actions = one_or_many(statement.get("Action"));
                    actions.sort();
                    let mut resources = one_or_many(statement.get("Resource"));
                    resources.sort();
                    statements.push(PolicyStatement {
                        effect: statement.get("Effect").map(render).unwrap_or_default(),
                        actions,
                        resources,
                    });
                }
            }
            None => others.push(match policy.as_mapping() {
                Some(map) => map.keys().map(render).collect::<Vec<_>>().join(","),
                None => render(&policy),
            }),
        }
    }
    statements.sort();
    (statements, others)
}

pub fn functions() -> Result<Vec<TemplateFunction>, String> {
    let template = parse()?;
    let resources = template
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or("template.yaml: no Resources")?;
    let mut functions = Vec::new();
    for (id, resource) in resources {
        if resource.get("Type").and_then(Value::as_str) != Some("AWS::Serverless::Function") {
            continue;
        }
        let logical_id = id.as_str().unwrap_or_default().to_owned();
        let binary = resource
            .get("Metadata")
            .and_then(|m| m.get("BuildProperties"))
            .map(|b| text(b, "Binary"))
            .transpose()?
            .ok_or_else(|| format!("{logical_id}: no Metadata.BuildProperties.Binary"))?;
        let properties = resource
            .get("Properties")
            .ok_or_else(|| format!("{logical_id}: no Properties"))?;
        let events = properties
            .get("Events")
            .and_then(Value::as_mapping)
            .ok_or_else(|| format!("{logical_id}: no Events"))?;
        let (statements, other_policies) = policies(properties);
        let property_names: Vec<String> = properties
            .as_mapping()
            .map(|map| map.keys().map(render).collect())
            .unwrap_or_default();
        for event in events.values() {
            if event.get("Type").and_then(Value::as_str) != Some("HttpApi") {
                continue;
            }
            let event_properties = event
                .get("Properties")
                .ok_or_else(|| format!("{logical_id}: event without Properties"))?;
            functions.push(TemplateFunction {
                logical_id: logical_id.clone(),
                binary: binary.clone(),
                method: text(event_properties, "Method")?,
                path: text(event_properties, "Path")?,
                statements: statements.clone(),
                other_policies: other_policies.clone(),
                properties: property_names.clone(),
            });
        }
    }
    Ok(functions)
}

fn key_elements(parts: &[KeyPart]) -> Result<Vec<KeySchemaElement>, String> {
    parts
        .iter()
        .map(|part| {
            KeySchemaElement::builder()
                .attribute_name(&part.attribute)
                .key_type(KeyType::from(part.key_type.as_str()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// Creates the table with the template's keys, indexes and TTL attribute. An existing table
/// of that name is left as it is.
pub async fn create_table(client: &Client, name: &str) -> Result<(), String> {
    let schema = table_schema()?;
    let attributes = schema
        .attributes
        .iter()
        .map(|(attribute, kind)| {
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::from(kind.as_str()))
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let indexes = schema
        .indexes
        .iter()
        .map(|index| {
            GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .set_key_schema(Some(key_elements(&index.keys)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(index.projection.as_str()))
                        .build(),
                )
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let created = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(key_elements(&schema.keys)?))
        .set_global_secondary_indexes((!indexes.is_empty()).then_some(indexes))
        .send()
        .await;
    if let Err(error) = created {
        let service_error = error.into_service_error();
        if service_error.is_resource_in_use_exception() {
            return Ok(());
        }
        return Err(format!("creating table {name}: {service_error:?}"));
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(&schema.ttl_attribute)
                .enabled(true)
                .build()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await
        .map_err(|e| format!("enabling TTL on {name}: {:?}", e.into_service_error()))?;
    Ok(())
}
