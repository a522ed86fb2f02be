//! The typed AST of the custom-strategy language (GAME `app/engine/dsl_ast.py`).
//!
//! A program arrives as JSON authored by a block editor. [`crate::dsl::validate`] walks that
//! JSON with GAME's rules (error order, node ids, limits) and produces these types; the
//! interpreter only ever runs a validated [`Program`]. The types also (de)serialise with serde,
//! unknown keys rejected, so a stored program round-trips: `serde_json::to_value(&program)` is
//! the normalised AST (every node with its id) that is persisted and returned by the API.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::analytics::Need;

/// A node id (trace entries borrow it from the program).
pub type NodeId = String;

/// `{"type":"program", "id", "rules", "default"?, "pre_rules"?, "post_rules"?, "parent_variables"?}`.
///
/// Absent optional sections stay absent (`None`), so the normalised JSON keeps the author's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    #[serde(rename = "type")]
    pub kind: ProgramTag,
    pub id: NodeId,
    pub rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Statement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_rules: Option<Vec<Rule>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_rules: Option<Vec<Rule>>,
    /// DSL_EXTEND: overrides applied to a copy of the parent's variables (`variable_*` → scalar).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_variables: Option<BTreeMap<String, Scalar>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProgramTag {
    #[serde(rename = "program")]
    Program,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RuleTag {
    #[serde(rename = "rule")]
    Rule,
}

/// `{"type":"rule", "id", "when", "then", "else_if"?, "else"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    #[serde(rename = "type")]
    pub kind: RuleTag,
    pub id: NodeId,
    pub when: Condition,
    pub then: Vec<Statement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub else_if: Option<Vec<ElseIf>>,
    #[serde(default, rename = "else", skip_serializing_if = "Option::is_none")]
    pub else_: Option<Vec<Statement>>,
}

/// One `else_if` branch. GAME does not give branches ids (they are plain objects, not nodes);
/// an author-supplied `id` is kept.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ElseIf {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<NodeId>,
    pub when: Condition,
    pub then: Vec<Statement>,
}

/// A condition: logic, comparison, or the truthiness of a bare `literal` / `field`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    And {
        id: NodeId,
        args: Vec<Condition>,
    },
    Or {
        id: NodeId,
        args: Vec<Condition>,
    },
    Not {
        id: NodeId,
        arg: Box<Condition>,
    },
    Compare {
        id: NodeId,
        op: CompareOp,
        left: Expr,
        right: Expr,
    },
    Literal {
        id: NodeId,
        value: Scalar,
    },
    Field {
        id: NodeId,
        path: FieldPath,
    },
}

/// An expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Expr {
    Literal {
        id: NodeId,
        value: Scalar,
    },
    Field {
        id: NodeId,
        path: FieldPath,
    },
    Arith {
        id: NodeId,
        op: ArithOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    FuncCall {
        id: NodeId,
        name: FuncName,
        args: Vec<Expr>,
    },
}

/// A statement. Which section may hold which statement: [`Statement::allowed_in`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Statement {
    AssignPoints {
        id: NodeId,
        value: Expr,
        case_name: String,
    },
    SetCallbackData {
        id: NodeId,
        key: String,
        value: Expr,
    },
    Return {
        id: NodeId,
    },
    SetData {
        id: NodeId,
        key: String,
        value: Expr,
    },
    Veto {
        id: NodeId,
        case_name: String,
    },
    SetPoints {
        id: NodeId,
        value: Expr,
    },
    SetCaseName {
        id: NodeId,
        value: Expr,
    },
}

impl Statement {
    pub fn id(&self) -> &NodeId {
        match self {
            Statement::AssignPoints { id, .. }
            | Statement::SetCallbackData { id, .. }
            | Statement::Return { id }
            | Statement::SetData { id, .. }
            | Statement::Veto { id, .. }
            | Statement::SetPoints { id, .. }
            | Statement::SetCaseName { id, .. } => id,
        }
    }
}

/// The section a statement sits in (GAME's validator "context").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// `program.rules[*]`.
    Rule,
    /// `program.default`.
    Default,
    /// `program.pre_rules[*]` (DSL_EXTEND).
    Pre,
    /// `program.post_rules[*]` (DSL_EXTEND).
    Post,
}

impl Section {
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Rule => "rule",
            Section::Default => "default",
            Section::Pre => "pre",
            Section::Post => "post",
        }
    }
}

/// Statement types and the sections allowing them (GAME's `STATEMENT_ALLOWED_CONTEXTS`).
pub const STATEMENT_CONTEXTS: &[(&str, &[Section])] = &[
    ("assign_points", &[Section::Rule, Section::Default]),
    (
        "set_callback_data",
        &[Section::Rule, Section::Default, Section::Pre, Section::Post],
    ),
    (
        "return",
        &[Section::Rule, Section::Default, Section::Pre, Section::Post],
    ),
    ("set_data", &[Section::Pre]),
    ("veto", &[Section::Pre]),
    ("set_points", &[Section::Post]),
    ("set_case_name", &[Section::Post]),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CompareOp {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
}

impl CompareOp {
    pub fn parse(s: &str) -> Option<CompareOp> {
        Some(match s {
            "<" => CompareOp::Lt,
            "<=" => CompareOp::Le,
            "==" => CompareOp::Eq,
            "!=" => CompareOp::Ne,
            ">=" => CompareOp::Ge,
            ">" => CompareOp::Gt,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Eq => "==",
            CompareOp::Ne => "!=",
            CompareOp::Ge => ">=",
            CompareOp::Gt => ">",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArithOp {
    #[serde(rename = "+")]
    Add,
    #[serde(rename = "-")]
    Sub,
    #[serde(rename = "*")]
    Mul,
    #[serde(rename = "/")]
    Div,
    #[serde(rename = "min")]
    Min,
    #[serde(rename = "max")]
    Max,
}

impl ArithOp {
    pub fn parse(s: &str) -> Option<ArithOp> {
        Some(match s {
            "+" => ArithOp::Add,
            "-" => ArithOp::Sub,
            "*" => ArithOp::Mul,
            "/" => ArithOp::Div,
            "min" => ArithOp::Min,
            "max" => ArithOp::Max,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ArithOp::Add => "+",
            ArithOp::Sub => "-",
            ArithOp::Mul => "*",
            ArithOp::Div => "/",
            ArithOp::Min => "min",
            ArithOp::Max => "max",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FuncName {
    /// `int(x)`: truncation toward zero (Python's `int`).
    Int,
    /// `clamp(v, lo, hi) = max(lo, min(v, hi))`.
    Clamp,
}

impl FuncName {
    pub fn parse(s: &str) -> Option<FuncName> {
        match s {
            "int" => Some(FuncName::Int),
            "clamp" => Some(FuncName::Clamp),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FuncName::Int => "int",
            FuncName::Clamp => "clamp",
        }
    }

    pub fn arity(self) -> usize {
        match self {
            FuncName::Int => 1,
            FuncName::Clamp => 3,
        }
    }
}

/// A JSON scalar: a literal's value or a `parent_variables` value.
///
/// Integers are i64; a JSON integer outside i64 is rejected by the validator (Python would
/// keep it as a big int).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Scalar {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Scalar::Null => serde_json::Value::Null,
            Scalar::Bool(b) => (*b).into(),
            Scalar::Int(i) => (*i).into(),
            Scalar::Float(f) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Scalar::Str(s) => s.as_str().into(),
        }
    }
}

/// A `field.path`: the whitelist (GAME's `FIELD_RESOLVERS`), `data.<key>`, and the post-only
/// `parent.*` paths.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum FieldPath {
    ExternalGameId,
    ExternalTaskId,
    ExternalUserId,
    /// The user's awards on (game, task).
    UserMeasurementsCount,
    /// The user's awards on (game, task) in the last 300 s (window fixed, as in GAME).
    UserRecentMeasurementsCount,
    /// Everyone's awards on (game, task).
    TaskMeasurementsCount,
    /// The user's mean gap between awards on (game, task), seconds; −1 with fewer than two.
    UserAvgTime,
    /// Everyone's mean gap on (game, task), seconds; −1 with fewer than two.
    AllAvgTime,
    /// Seconds between the user's two latest awards on (game, task); 0 with fewer than two.
    UserLastWindowDiff,
    /// Seconds from the user's latest award on (game, task) to now; 0 with none.
    UserNewLastWindowDiff,
    /// `data.<key>`, key `[A-Za-z0-9_]+`.
    Data(String),
    /// The user's level in the game (0 below the first rung or without a ladder).
    UserLevel,
    /// The user's current streak length in the game (0 when broken or without a rule).
    UserStreakLength,
    /// `achievement.<key>`: whether the user holds the achievement (key `[A-Za-z0-9_-]+`).
    Achievement(String),
    /// `parent.points` (post_rules only).
    ParentPoints,
    /// `parent.case_name` (post_rules only).
    ParentCaseName,
}

/// Recent-count window of `user.recent_measurements_count`, µs (GAME hard-codes 300 s).
pub const RECENT_WINDOW_US: i128 = 300 * 1_000_000;

impl FieldPath {
    /// The whitelisted non-data paths, in GAME's declaration order.
    pub const WHITELIST: [FieldPath; 10] = [
        FieldPath::ExternalGameId,
        FieldPath::ExternalTaskId,
        FieldPath::ExternalUserId,
        FieldPath::UserMeasurementsCount,
        FieldPath::UserRecentMeasurementsCount,
        FieldPath::TaskMeasurementsCount,
        FieldPath::UserAvgTime,
        FieldPath::AllAvgTime,
        FieldPath::UserLastWindowDiff,
        FieldPath::UserNewLastWindowDiff,
    ];

    pub fn parse(path: &str) -> Option<FieldPath> {
        Some(match path {
            "externalGameId" => FieldPath::ExternalGameId,
            "externalTaskId" => FieldPath::ExternalTaskId,
            "externalUserId" => FieldPath::ExternalUserId,
            "user.measurements_count" => FieldPath::UserMeasurementsCount,
            "user.recent_measurements_count" => FieldPath::UserRecentMeasurementsCount,
            "task.measurements_count" => FieldPath::TaskMeasurementsCount,
            "user.avg_time" => FieldPath::UserAvgTime,
            "all.avg_time" => FieldPath::AllAvgTime,
            "user.last_window_diff" => FieldPath::UserLastWindowDiff,
            "user.new_last_window_diff" => FieldPath::UserNewLastWindowDiff,
            "parent.points" => FieldPath::ParentPoints,
            "parent.case_name" => FieldPath::ParentCaseName,
            "user.level" => FieldPath::UserLevel,
            "user.streak_length" => FieldPath::UserStreakLength,
            _ if path.starts_with("achievement.") => {
                let key = &path["achievement.".len()..];
                if key.is_empty()
                    || key.len() > 60
                    || !key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return None;
                }
                FieldPath::Achievement(key.to_string())
            }
            _ => {
                let key = path.strip_prefix("data.")?;
                if !is_data_key(key) {
                    return None;
                }
                FieldPath::Data(key.to_string())
            }
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            FieldPath::ExternalGameId => "externalGameId",
            FieldPath::ExternalTaskId => "externalTaskId",
            FieldPath::ExternalUserId => "externalUserId",
            FieldPath::UserMeasurementsCount => "user.measurements_count",
            FieldPath::UserRecentMeasurementsCount => "user.recent_measurements_count",
            FieldPath::TaskMeasurementsCount => "task.measurements_count",
            FieldPath::UserAvgTime => "user.avg_time",
            FieldPath::AllAvgTime => "all.avg_time",
            FieldPath::UserLastWindowDiff => "user.last_window_diff",
            FieldPath::UserNewLastWindowDiff => "user.new_last_window_diff",
            FieldPath::ParentPoints => "parent.points",
            FieldPath::ParentCaseName => "parent.case_name",
            FieldPath::Data(_) => "data.",
            FieldPath::UserLevel => "user.level",
            FieldPath::UserStreakLength => "user.streak_length",
            FieldPath::Achievement(_) => "achievement.",
        }
    }

    /// The aggregate an analytics path is computed from; `None` for ids, data and parent paths.
    pub fn need(&self) -> Option<Need> {
        match self {
            FieldPath::UserMeasurementsCount
            | FieldPath::UserRecentMeasurementsCount
            | FieldPath::UserAvgTime
            | FieldPath::UserLastWindowDiff
            | FieldPath::UserNewLastWindowDiff => Some(Need::UserTaskSeries),
            FieldPath::TaskMeasurementsCount | FieldPath::AllAvgTime => Some(Need::TaskSeries),
            _ => None,
        }
    }

    pub fn is_parent(&self) -> bool {
        matches!(self, FieldPath::ParentPoints | FieldPath::ParentCaseName)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldPath::Data(k) => write!(f, "data.{k}"),
            FieldPath::Achievement(k) => write!(f, "achievement.{k}"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl From<FieldPath> for String {
    fn from(p: FieldPath) -> String {
        p.to_string()
    }
}

impl TryFrom<String> for FieldPath {
    type Error = String;
    fn try_from(s: String) -> Result<FieldPath, String> {
        FieldPath::parse(&s).ok_or_else(|| format!("field.path '{s}' is not in the allowed set"))
    }
}

/// `[A-Za-z0-9_]+`: a `data.<key>` key and a `set_data` key.
pub fn is_data_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// 1–200 printable ASCII characters (`[\x20-\x7E]{1,200}`).
pub fn is_valid_case_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| (0x20..=0x7e).contains(&b))
}
