//! Reads template.yaml: the table schema (the only one), and each function's route and binary.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_saphyr::Tagged;

/// The template, compiled in so every binary and test sees the same file.
pub const TEMPLATE: &str = include_str!("../../../template.yaml");

fn parse() -> Result<Value, String> {
    serde_saphyr::from_str(TEMPLATE).map_err(|e| format!("template.yaml: {e}"))
}

/// A YAML node as this module reads it. serde-saphyr has no untyped value type, so this is
/// one; every node is read through its `Tagged<T>`, which is how the CloudFormation short
/// forms (`!Ref X`, `!GetAtt X.Arn`, `!If [...]`) keep their tags.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// As written in decimal (only ever rendered, never computed with).
    Number(String),
    String(String),
    Sequence(Vec<Value>),
    Mapping(Mapping),
    Tagged(Box<TaggedValue>),
}

/// A node with a local tag: `tag` keeps its `!`.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedValue {
    pub tag: String,
    pub value: Value,
}

/// A mapping in document order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mapping(Vec<(Value, Value)>);

impl Mapping {
    pub fn keys(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(key, _)| key)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.0.iter().map(|(_, value)| value)
    }
}

impl<'m> IntoIterator for &'m Mapping {
    type Item = (&'m Value, &'m Value);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'m, (Value, Value)>,
        fn(&'m (Value, Value)) -> (&'m Value, &'m Value),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(key, value)| (key, value))
    }
}

impl Value {
    /// The value under a text key of a mapping.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let Value::Mapping(map) = self else {
            return None;
        };
        map.0
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, value)| value)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    pub fn as_sequence(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Sequence(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_mapping(&self) -> Option<&Mapping> {
        match self {
            Value::Mapping(map) => Some(map),
            _ => None,
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Tagged(Untagged(value), tag) = Tagged::<Untagged>::deserialize(deserializer)?;
        // Local tags (`!Ref`) are CloudFormation's; the core schema's (`!!str`, resolved to
        // `tag:yaml.org,2002:...`) only choose how a scalar reads, as before.
        Ok(match tag {
            Some(tag) if tag.starts_with('!') && !tag.starts_with("!!") => {
                Value::Tagged(Box::new(TaggedValue { tag, value }))
            }
            _ => value,
        })
    }
}

/// A node's content without its tag (the [`Value`] impl reads the tag around it).
struct Untagged(Value);

impl<'de> Deserialize<'de> for Untagged {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor).map(Untagged)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a YAML node")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Number(value.to_string()))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Number(value.to_string()))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Value, E> {
        Ok(Value::Number(value.to_string()))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Value>()? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry::<Value, Value>()? {
            entries.push(entry);
        }
        Ok(Value::Mapping(Mapping(entries)))
    }
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
    /// The stream's view type (the outbox's transport), when the table has a stream.
    pub stream_view_type: Option<String>,
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
        stream_view_type: properties
            .get("StreamSpecification")
            .map(|spec| text(spec, "StreamViewType"))
            .transpose()?,
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
        Value::Null => "null".to_owned(),
        Value::Bool(value) => value.to_string(),
        Value::Number(number) => number.clone(),
        Value::Mapping(map) => map
            .into_iter()
            .map(|(key, value)| format!("{}: {}", render(key), render(value)))
            .collect::<Vec<_>>()
            .join(", "),
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

/// The HTTP API's `CorsConfiguration`, with `!Ref`s to parameters resolved to their defaults
/// (what a deploy without overrides gets).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CorsConfig {
    pub allow_origins: Vec<String>,
    pub allow_methods: Vec<String>,
    pub allow_headers: Vec<String>,
    pub expose_headers: Vec<String>,
    pub max_age: Option<u64>,
    pub allow_credentials: bool,
}

/// A list-valued property: a YAML list, a comma-separated text, or `!Ref` to a parameter (its
/// `Default`; a `CommaDelimitedList` is split on commas, as CloudFormation does).
fn string_list(template: &Value, value: Option<&Value>, what: &str) -> Result<Vec<String>, String> {
    let split = |text: &str| {
        text.split(',')
            .map(|part| part.trim().to_owned())
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
    };
    match value {
        None => Ok(Vec::new()),
        Some(Value::Sequence(items)) => items
            .iter()
            .map(|item| scalar(template, item, what))
            .collect(),
        Some(Value::String(text)) => Ok(split(text)),
        Some(tagged @ Value::Tagged(_)) => Ok(split(&scalar(template, tagged, what)?)),
        Some(other) => Err(format!(
            "template.yaml: {what} is not a list: {}",
            render(other)
        )),
    }
}

/// A scalar, or `!Ref` to a parameter with a `Default`.
fn scalar(template: &Value, value: &Value, what: &str) -> Result<String, String> {
    match value {
        Value::String(text) | Value::Number(text) => Ok(text.clone()),
        Value::Bool(value) => Ok(value.to_string()),
        Value::Tagged(tagged) if tagged.tag == "!Ref" => {
            let name = tagged.value.as_str().unwrap_or_default();
            let default = template
                .get("Parameters")
                .and_then(|p| p.get(name))
                .and_then(|p| p.get("Default"))
                .ok_or_else(|| {
                    format!(
                        "template.yaml: {what} refers to parameter {name}, which has no Default"
                    )
                })?;
            scalar(template, default, what)
        }
        other => Err(format!(
            "template.yaml: {what} is not a value the dev API can read: {}",
            render(other)
        )),
    }
}

/// The `CorsConfiguration` of the template's `AWS::Serverless::HttpApi`, if it has one.
pub fn cors() -> Result<Option<CorsConfig>, String> {
    let template = parse()?;
    let resources = template
        .get("Resources")
        .and_then(Value::as_mapping)
        .ok_or("template.yaml: no Resources")?;
    let Some(api) = resources
        .values()
        .find(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::Serverless::HttpApi"))
    else {
        return Ok(None);
    };
    let Some(cors) = api
        .get("Properties")
        .and_then(|p| p.get("CorsConfiguration"))
    else {
        return Ok(None);
    };
    let field = |key: &str| string_list(&template, cors.get(key), key);
    let max_age = cors
        .get("MaxAge")
        .map(|v| scalar(&template, v, "MaxAge"))
        .transpose()?
        .map(|v| {
            v.parse::<u64>()
                .map_err(|_| format!("template.yaml: MaxAge {v} is not a number of seconds"))
        })
        .transpose()?;
    let allow_credentials = cors
        .get("AllowCredentials")
        .map(|v| scalar(&template, v, "AllowCredentials"))
        .transpose()?
        .is_some_and(|v| v == "true");
    Ok(Some(CorsConfig {
        allow_origins: field("AllowOrigins")?,
        allow_methods: field("AllowMethods")?,
        allow_headers: field("AllowHeaders")?,
        expose_headers: field("ExposeHeaders")?,
        max_age,
        allow_credentials,
    }))
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
        .set_stream_specification(
            schema
                .stream_view_type
                .as_deref()
                .map(|view| {
                    StreamSpecification::builder()
                        .stream_enabled(true)
                        .stream_view_type(StreamViewType::from(view))
                        .build()
                })
                .transpose()
                .map_err(|e| e.to_string())?,
        )
        .send()
        .await;
    if let Err(error) = created {
        let service_error = error.into_service_error();
        if service_error.is_resource_in_use_exception() {
            return Ok(());
        }
        return Err(format!("creating table {name}: {service_error:?}"));
    }
    let enabled = client
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
        .await;
    match enabled.map_err(|e| e.into_service_error()) {
        Ok(_) => Ok(()),
        // The SDK retries a call whose answer was slow or lost; if the first attempt went
        // through, the retry is refused with this, and TTL is on as asked.
        Err(error) if error.meta().message() == Some("TimeToLive is already enabled") => Ok(()),
        Err(error) => Err(format!("enabling TTL on {name}: {error:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_form_tags_render_as_written() {
        let doc: Value = serde_saphyr::from_str(
            "a: !GetAtt Table.Arn\nb: !Sub \"${Table.Arn}/index/*\"\nc: !If [P, true, 3]\nd: [x, !Ref S]\n",
        )
        .unwrap();
        let field = |key| render(doc.get(key).unwrap());
        assert_eq!(field("a"), "!GetAtt Table.Arn");
        assert_eq!(field("b"), "!Sub ${Table.Arn}/index/*");
        assert_eq!(field("c"), "!If P true 3");
        assert_eq!(one_or_many(doc.get("d")), ["x", "!Ref S"]);
    }

    #[test]
    fn the_template_reads() {
        let schema = table_schema().unwrap();
        assert!(schema.keys.iter().any(|k| k.attribute == "PK"));
        let functions = functions().unwrap();
        assert!(functions.iter().any(|f| {
            f.statements
                .iter()
                .any(|s| s.resources.iter().any(|r| r == "!GetAtt Table.Arn"))
        }));
    }

    #[test]
    fn cors_reads_with_parameter_defaults() {
        let cors = cors()
            .unwrap()
            .expect("the HttpApi has a CorsConfiguration");
        // AllowOrigins is `!Ref CorsAllowOrigins`, whose Default is "*".
        assert_eq!(cors.allow_origins, ["*"]);
        assert!(cors.allow_methods.iter().any(|m| m == "OPTIONS"));
        assert!(cors.allow_headers.iter().any(|h| h == "idempotency-key"));
        assert!(
            cors.expose_headers
                .iter()
                .any(|h| h == "idempotent-replayed")
        );
        assert!(cors.max_age.is_some());
    }

    #[test]
    fn comma_delimited_parameters_split() {
        let doc: Value = serde_saphyr::from_str(
            "Parameters:\n  O:\n    Type: CommaDelimitedList\n    Default: \"https://a.example, https://b.example\"\norigins: !Ref O\nmethods: [GET, POST]\n",
        )
        .unwrap();
        assert_eq!(
            string_list(&doc, doc.get("origins"), "origins").unwrap(),
            ["https://a.example", "https://b.example"]
        );
        assert_eq!(
            string_list(&doc, doc.get("methods"), "methods").unwrap(),
            ["GET", "POST"]
        );
    }
}
