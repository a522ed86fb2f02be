//! Custom strategies: GAME's rule language (reference §4), pure.
//!
//! ```text
//! let cs = CustomStrategy::new(&ast_json, DslKind::Extend(StrategyKind::Default))?; // validate
//! let needs = cs.needs();                       // aggregates to load (program fields + parent)
//! let out = cs.run(&DslInput { score, mock_state: None }, &|| deadline_passed())?;
//! let points = out.points()?;                   // exact Points
//! ```
//!
//! * DSL_FULL runs `rules` then `default`.
//! * DSL_EXTEND runs `pre_rules` (may `set_data` or `veto`), then the built-in parent with
//!   `parent_variables` applied to a copy of its variables, then `post_rules` (which read
//!   `parent.points` / `parent.case_name` and may `set_points` / `set_case_name`).
//!
//! Each phase has its own node budget ([`Limits`]) and consults the caller's deadline check
//! every 64 nodes; the crate never reads a clock.
//!
//! Rules, lifecycle and limits for users: `docs/strategies.md`, "Custom strategies".

pub mod ast;
pub mod error;
pub mod interp;
pub mod templates;
pub mod validate;
pub mod value;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use ast::{FieldPath, Program, Section};
pub use error::{DslCode, DslError, RunStatus};
pub use interp::{Branch, Fields, Mode, NodeKind, TraceEntry};
pub use validate::{Limits, Validated, validate, validate_with};
pub use value::Val;

use crate::analytics::Need;
use crate::catalog::{self, Variables};
use crate::points::Points;
use crate::strategy::{Outcome, ScoreInput, StrategyKind, score};

/// A custom strategy's type (GAME's `type`; `BUILT_IN` rows are not programs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DslKind {
    Full,
    /// Wraps this built-in.
    Extend(StrategyKind),
}

impl DslKind {
    pub fn type_name(self) -> &'static str {
        match self {
            DslKind::Full => "DSL_FULL",
            DslKind::Extend(_) => "DSL_EXTEND",
        }
    }

    pub fn parent(self) -> Option<StrategyKind> {
        match self {
            DslKind::Full => None,
            DslKind::Extend(k) => Some(k),
        }
    }
}

/// A validated program and its type, ready to run.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomStrategy {
    validated: Validated,
    kind: DslKind,
}

/// Inputs of one run.
#[derive(Debug, Clone, Copy)]
pub struct DslInput<'a> {
    /// Ids, request data, now, analytics; for DSL_EXTEND also everything the parent reads.
    /// `variables` are the parent's effective variables before `parent_variables` (DSL_EXTEND
    /// only; a DSL_FULL run ignores them).
    pub score: ScoreInput<'a>,
    /// Simulation only: `path → value` overrides of any field the program reads (verbatim).
    /// The parent built-in of a DSL_EXTEND program still reads the real analytics.
    pub mock_state: Option<&'a Map<String, Value>>,
}

/// A successful run: GAME's `(points, caseName, callbackData)` plus the trace.
#[derive(Debug, Clone)]
pub struct DslOutcome<'p> {
    /// An int or a float (Python's type; see [`DslOutcome::points`] for exact points).
    pub points: Val,
    /// `None` when nothing matched and there is no default.
    pub case_name: Option<String>,
    /// The callback data object (`{}` when none was set).
    pub callback_data: Value,
    pub trace: Vec<TraceEntry<'p>>,
    /// Nodes visited over all phases (what the budget counts).
    pub nodes: usize,
    /// A pre-rule vetoed the award (DSL_EXTEND): the parent did not run.
    pub vetoed: bool,
    /// DSL_EXTEND: what the parent built-in returned.
    pub parent: Option<Outcome>,
}

impl DslOutcome<'_> {
    /// The points as an exact decimal (a float through its shortest decimal form, so 7.5 is
    /// 7.5 and 0.1 + 0.2 is 0.30000000000000004, as Python prints it).
    pub fn points(&self) -> Result<Points, DslError> {
        let root = self
            .trace
            .last()
            .map(|t| t.node_id.to_string())
            .unwrap_or_else(|| "p.program.0".into());
        match &self.points {
            Val::Int(i) => Ok(Points::from_int(*i)),
            Val::Float(f) => points_from_f64(*f).ok_or_else(|| {
                DslError::new(
                    if f.is_finite() {
                        DslCode::ArithOverflow
                    } else {
                        DslCode::PointsNotFinite
                    },
                    root,
                    format!("The strategy produced points that cannot be awarded: {f}."),
                )
            }),
            other => Err(DslError::new(
                DslCode::AssignPointsNotNumber,
                root,
                format!(
                    "The strategy produced non-numeric points ({}).",
                    other.type_name()
                ),
            )),
        }
    }

    /// `callbackData` if non-empty (GAME returns the 3-tuple only then).
    pub fn callback_data_opt(&self) -> Option<&Value> {
        match &self.callback_data {
            Value::Object(m) if m.is_empty() => None,
            Value::Null => None,
            v => Some(v),
        }
    }

    /// The points as a JSON number of Python's type (`5` or `5.0`).
    pub fn points_json(&self) -> Value {
        self.points.to_json()
    }
}

/// A failed run: the error and the trace up to it (for the execution log).
#[derive(Debug, Clone)]
pub struct DslFailure<'p> {
    pub error: DslError,
    pub trace: Vec<TraceEntry<'p>>,
    pub nodes: usize,
}

impl From<DslError> for DslFailure<'_> {
    fn from(error: DslError) -> Self {
        DslFailure {
            error,
            trace: Vec::new(),
            nodes: 0,
        }
    }
}

fn fail_with(error: DslError, trace: Vec<TraceEntry<'_>>, nodes: usize) -> DslFailure<'_> {
    DslFailure {
        error,
        trace,
        nodes,
    }
}

/// Exact decimal of an f64's shortest representation; `None` if non-finite or beyond the
/// decimal's range.
pub fn points_from_f64(f: f64) -> Option<Points> {
    if !f.is_finite() {
        return None;
    }
    // Rust prints f64 without exponent, shortest round-trip digits.
    let s = format!("{f}");
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.as_str()),
    };
    let (int_part, frac) = s.split_once('.').unwrap_or((s, ""));
    let frac = frac.trim_end_matches('0');
    if frac.len() > 30 || int_part.len() + frac.len() > 38 {
        return None;
    }
    let mut units: i128 = 0;
    for b in int_part.bytes().chain(frac.bytes()) {
        units = units.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
    }
    Points::from_decimal(
        if neg { -units } else { units },
        u8::try_from(frac.len()).ok()?,
    )
}

impl CustomStrategy {
    /// Validate `ast` for `kind`. For DSL_EXTEND, every `parent_variables` key must be one of
    /// the parent's variables and its value must fit the variable's type (GAME ignored unknown
    /// keys silently and did not type-check).
    pub fn new(ast: &Value, kind: DslKind) -> Result<CustomStrategy, DslError> {
        Self::with_limits(ast, kind, Limits::default())
    }

    pub fn with_limits(
        ast: &Value,
        kind: DslKind,
        limits: Limits,
    ) -> Result<CustomStrategy, DslError> {
        let validated = validate_with(ast, limits)?;
        if let (DslKind::Extend(parent), Some(vars)) = (kind, &validated.program().parent_variables)
        {
            let info = catalog::strategy(parent.id()).ok_or_else(|| {
                DslError::new(
                    DslCode::InvalidParentVariables,
                    &*validated.program().id,
                    format!("Unknown parent strategy {}.", parent.id()),
                )
            })?;
            let base = info.default_variables();
            for (k, v) in vars {
                if info.variables.iter().all(|spec| spec.name != k) {
                    let known: Vec<&str> = info.variables.iter().map(|s| s.name).collect();
                    return Err(DslError::new(
                        DslCode::UnknownParentVariable,
                        &*validated.program().id,
                        format!(
                            "program.parent_variables key '{k}' is not a variable of {} \
                             (variables: {}).",
                            parent.id(),
                            known.join(", ")
                        ),
                    ));
                }
                let json = v.to_json();
                catalog::override_variables(info, &base, &[(k.as_str(), &json)]).map_err(|e| {
                    DslError::new(
                        DslCode::InvalidParentVariables,
                        &*validated.program().id,
                        format!("program.parent_variables: {}", e.message),
                    )
                })?;
            }
        }
        Ok(CustomStrategy { validated, kind })
    }

    pub fn kind(&self) -> DslKind {
        self.kind
    }

    pub fn validated(&self) -> &Validated {
        &self.validated
    }

    pub fn program(&self) -> &Program {
        self.validated.program()
    }

    /// Every aggregate a run reads: the program's analytics fields, plus the parent's needs.
    pub fn needs(&self) -> Vec<Need> {
        let mut needs = self.validated.analytics_needs();
        if let Some(parent) = self.kind.parent() {
            for n in parent.needs() {
                if !needs.contains(n) {
                    needs.push(*n);
                }
            }
        }
        needs
    }

    /// sha256 of the normalised AST as compact JSON with sorted keys (GAME's `hash_version`
    /// scheme; the bytes differ from Python's `json.dumps` for non-ASCII text and floats).
    pub fn hash_version(&self) -> String {
        ast_hash(&self.validated.to_json())
    }

    /// Run the program (DSL_FULL) or the three phases (DSL_EXTEND).
    #[allow(clippy::result_large_err)] // see interp::run_phase
    pub fn run(
        &self,
        input: &DslInput<'_>,
        deadline: &dyn Fn() -> bool,
    ) -> Result<DslOutcome<'_>, DslFailure<'_>> {
        let program = self.validated.program();
        let limits = Limits::default();
        static EMPTY: std::sync::LazyLock<Map<String, Value>> = std::sync::LazyLock::new(Map::new);
        let data_obj: &Map<String, Value> = match input.score.data {
            Value::Object(m) => m,
            _ => &EMPTY,
        };
        match self.kind {
            DslKind::Full => {
                let fields = self.resolve(input, data_obj);
                let r = interp::run_phase(
                    program,
                    Mode::Full,
                    &fields,
                    Map::new(),
                    None,
                    limits,
                    deadline,
                )
                .map_err(|f| DslFailure {
                    error: f.error,
                    trace: f.trace,
                    nodes: f.nodes,
                })?;
                Ok(DslOutcome {
                    points: r.points,
                    case_name: r.case_name,
                    callback_data: callback_json(&r.callback_data),
                    trace: r.trace,
                    nodes: r.nodes,
                    vetoed: false,
                    parent: None,
                })
            }
            DslKind::Extend(parent) => self.run_extend(parent, input, data_obj.clone(), deadline),
        }
    }

    #[allow(clippy::result_large_err)] // see interp::run_phase
    fn run_extend(
        &self,
        parent: StrategyKind,
        input: &DslInput<'_>,
        data_obj: Map<String, Value>,
        deadline: &dyn Fn() -> bool,
    ) -> Result<DslOutcome<'_>, DslFailure<'_>> {
        let program = self.validated.program();
        let limits = Limits::default();
        let mut trace = Vec::new();
        let mut nodes = 0;
        let mut working = data_obj;

        // Phase 1: pre_rules over the request data.
        if program.pre_rules.as_ref().is_some_and(|r| !r.is_empty()) {
            let fields = self.resolve(input, &working);
            let r = interp::run_phase(
                program,
                Mode::Pre,
                &fields,
                working.clone(),
                None,
                limits,
                deadline,
            )
            .map_err(|f| DslFailure {
                error: f.error,
                trace: f.trace,
                nodes: f.nodes,
            })?;
            trace = r.trace;
            nodes = r.nodes;
            if r.vetoed {
                return Ok(DslOutcome {
                    points: r.points,
                    case_name: r.case_name,
                    callback_data: callback_json(&r.callback_data),
                    trace,
                    nodes,
                    vetoed: true,
                    parent: None,
                });
            }
            working = r.working_data;
        }

        // Phase 2: the parent on the (possibly rewritten) data, with parent_variables applied
        // to a copy of its variables.
        let root = program.id.to_string();
        let overridden;
        let variables: &Variables = match &program.parent_variables {
            Some(pv) if !pv.is_empty() => {
                let Some(info) = catalog::strategy(parent.id()) else {
                    return Err(fail_with(
                        DslError::new(DslCode::ParentFailed, root, "Unknown parent strategy."),
                        trace,
                        nodes,
                    ));
                };
                let json: Vec<(String, Value)> =
                    pv.iter().map(|(k, v)| (k.clone(), v.to_json())).collect();
                let pairs: Vec<(&str, &Value)> =
                    json.iter().map(|(k, v)| (k.as_str(), v)).collect();
                match catalog::override_variables(info, input.score.variables, &pairs) {
                    Ok(v) => {
                        overridden = v;
                        &overridden
                    }
                    Err(e) => {
                        return Err(fail_with(
                            DslError::new(DslCode::InvalidParentVariables, root, e.message),
                            trace,
                            nodes,
                        ));
                    }
                }
            }
            _ => input.score.variables,
        };
        let parent_data = Value::Object(working.clone());
        let parent_input = ScoreInput {
            data: &parent_data,
            variables,
            ..input.score
        };
        let parent_out = match score(parent.id(), &parent_input) {
            Ok(o) => o,
            Err(e) => {
                let mut err = DslError::new(
                    DslCode::ParentFailed,
                    root,
                    format!("The parent strategy {} failed: {e}", parent.id()),
                );
                err.parent = Some(e);
                return Err(fail_with(err, trace, nodes));
            }
        };
        let parent_points = match parent_out.points.as_i64() {
            Some(i) => Val::Int(i),
            None => Val::Float(parent_out.points.to_f64()),
        };

        // Phase 3: post_rules seeded with the parent's result.
        if program.post_rules.as_ref().is_none_or(|r| r.is_empty()) {
            return Ok(DslOutcome {
                points: parent_points,
                case_name: Some(parent_out.case_name.to_string()),
                callback_data: parent_out
                    .callback_data
                    .clone()
                    .unwrap_or_else(|| Value::Object(Map::new())),
                trace,
                nodes,
                vetoed: false,
                parent: Some(parent_out),
            });
        }
        let mut fields = self.resolve(input, &working);
        let mock = |p: &FieldPath| {
            input
                .mock_state
                .is_some_and(|m| m.contains_key(&p.to_string()))
        };
        if !mock(&FieldPath::ParentPoints) {
            fields.set(FieldPath::ParentPoints, parent_points.clone());
        }
        if !mock(&FieldPath::ParentCaseName) {
            fields.set(
                FieldPath::ParentCaseName,
                Val::Str(Arc::from(parent_out.case_name)),
            );
        }
        // A parent's callback data that is not an object (greencrowd's list of simulated
        // tasks) is kept as is unless a post rule sets callback keys.
        let (seed_cb, other_cb) = match &parent_out.callback_data {
            Some(Value::Object(m)) => (
                m.iter()
                    .map(|(k, v)| (k.clone(), Val::from_json(v)))
                    .collect(),
                None,
            ),
            Some(other) => (BTreeMap::new(), Some(other.clone())),
            None => (BTreeMap::new(), None),
        };
        let seed = interp::Seed {
            points: Some(parent_points),
            case_name: Some(parent_out.case_name.to_string()),
            callback_data: seed_cb,
        };
        let r = match interp::run_phase(
            program,
            Mode::Post,
            &fields,
            Map::new(),
            Some(seed),
            limits,
            deadline,
        ) {
            Ok(r) => r,
            Err(f) => {
                trace.extend(f.trace);
                return Err(fail_with(f.error, trace, nodes + f.nodes));
            }
        };
        trace.extend(r.trace);
        let callback_data = match other_cb {
            Some(other) if r.callback_data.is_empty() => other,
            _ => callback_json(&r.callback_data),
        };
        Ok(DslOutcome {
            points: r.points,
            case_name: r.case_name,
            callback_data,
            trace,
            nodes: nodes + r.nodes,
            vetoed: false,
            parent: Some(parent_out),
        })
    }

    /// Resolve every path the program reads (GAME's `ExecutionContext.build_for_ast`): mocks
    /// first, then ids, analytics from the snapshot and `data.<key>` from `data`. A needed
    /// aggregate that was not loaded leaves its paths unresolved (the node then fails with
    /// `DSL_FIELD_NOT_PRECOMPUTED`). `parent.*` are filled by the caller of the post phase.
    fn resolve(&self, input: &DslInput<'_>, data: &Map<String, Value>) -> Fields {
        let s = &input.score;
        let mut fields = Fields::new();
        for path in self.validated.field_paths() {
            if let Some(v) = input.mock_state.and_then(|m| m.get(&path.to_string())) {
                fields.set(path.clone(), Val::from_json(v));
                continue;
            }
            let v = match path {
                FieldPath::ExternalGameId => Some(Val::Str(Arc::from(s.game_id))),
                FieldPath::ExternalTaskId => Some(Val::Str(Arc::from(s.task_id))),
                FieldPath::ExternalUserId => Some(Val::Str(Arc::from(s.user_id))),
                FieldPath::Data(k) => Some(data.get(k).map(Val::from_json).unwrap_or(Val::None)),
                FieldPath::ParentPoints | FieldPath::ParentCaseName => None,
                analytics => analytics_value(analytics, s),
            };
            if let Some(v) = v {
                fields.set(path.clone(), v);
            }
        }
        fields
    }
}

/// An analytics path's value with the Python type GAME's function returns (counts are ints;
/// averages and windows are floats, or the int sentinel −1 / 0 without enough history).
pub fn analytics_value(path: &FieldPath, s: &ScoreInput<'_>) -> Option<Val> {
    let a = s.analytics;
    Some(match path {
        FieldPath::UserMeasurementsCount => Val::Int(count(a.user_task.as_ref()?.series.count)),
        FieldPath::UserRecentMeasurementsCount => Val::Int(count(
            a.user_task
                .as_ref()?
                .count_within(s.now_us, ast::RECENT_WINDOW_US),
        )),
        FieldPath::TaskMeasurementsCount => Val::Int(count(a.task.as_ref()?.count)),
        FieldPath::UserAvgTime => avg(&a.user_task.as_ref()?.series),
        FieldPath::AllAvgTime => avg(a.task.as_ref()?),
        FieldPath::UserLastWindowDiff => {
            let u = a.user_task.as_ref()?;
            if u.series.count < 2 {
                Val::Int(0)
            } else {
                Val::Float(u.last_window_secs())
            }
        }
        FieldPath::UserNewLastWindowDiff => {
            let u = a.user_task.as_ref()?;
            if u.series.count == 0 {
                Val::Int(0)
            } else {
                Val::Float(u.since_last_secs(s.now_us))
            }
        }
        FieldPath::UserLevel => Val::Int(i64::from(a.progression.as_ref().map_or(0, |p| p.level))),
        FieldPath::UserStreakLength => Val::Int(i64::from(
            a.progression.as_ref().map_or(0, |p| p.streak_length),
        )),
        FieldPath::Achievement(key) => Val::Bool(
            a.progression
                .as_ref()
                .is_some_and(|p| p.achievements.binary_search(key).is_ok()),
        ),
        _ => return None,
    })
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn avg(series: &crate::analytics::Series) -> Val {
    if series.count < 2 {
        Val::Int(-1)
    } else {
        Val::Float(series.avg_gap_secs())
    }
}

fn callback_json(cb: &BTreeMap<String, Val>) -> Value {
    Value::Object(cb.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
}

/// sha256 hex of `ast` as compact JSON with sorted keys.
pub fn ast_hash(ast: &Value) -> String {
    // serde_json's Map is sorted here (no preserve_order), so to_string is canonical.
    let canon = ast.to_string();
    catalog::hex(&Sha256::digest(canon.as_bytes()))
}
