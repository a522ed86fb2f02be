//! The interpreter (GAME `app/engine/dsl_interpreter.py`): a walk over a validated program
//! with a frozen map of field values, a node budget, a depth guard and a caller-supplied
//! deadline check. No I/O, no clock: the walk is a function of the program and the fields.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};

use super::ast::*;
use super::error::{DslCode, DslError};
use super::validate::Limits;
use super::value::{self, OpError, Val};

/// How often (in visited nodes) the deadline is consulted; GAME yielded to its event loop at
/// the same cadence so its timeout could fire.
const DEADLINE_EVERY: usize = 64;

/// Which part of a program a run walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `rules` then `default` (DSL_FULL).
    Full,
    /// `pre_rules` (DSL_EXTEND phase 1).
    Pre,
    /// `post_rules` (DSL_EXTEND phase 3).
    Post,
}

/// A trace branch label (GAME's `branch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Branch {
    Match,
    ElseIf(u32),
    Else,
    Skip,
    ShortCircuit(u32),
    Veto,
    Halt,
}

/// The node type of a trace entry (GAME's `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    Rule,
    And,
    Or,
    Not,
    Compare,
    Literal,
    Field,
    Arith,
    FuncCall,
    AssignPoints,
    SetCallbackData,
    SetData,
    Veto,
    SetPoints,
    SetCaseName,
    Return,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Rule => "rule",
            NodeKind::And => "and",
            NodeKind::Or => "or",
            NodeKind::Not => "not",
            NodeKind::Compare => "compare",
            NodeKind::Literal => "literal",
            NodeKind::Field => "field",
            NodeKind::Arith => "arith",
            NodeKind::FuncCall => "func_call",
            NodeKind::AssignPoints => "assign_points",
            NodeKind::SetCallbackData => "set_callback_data",
            NodeKind::SetData => "set_data",
            NodeKind::Veto => "veto",
            NodeKind::SetPoints => "set_points",
            NodeKind::SetCaseName => "set_case_name",
            NodeKind::Return => "return",
        }
    }
}

impl Branch {
    pub fn label(self) -> String {
        match self {
            Branch::Match => "match".into(),
            Branch::ElseIf(i) => format!("elseif:{i}"),
            Branch::Else => "else".into(),
            Branch::Skip => "skip".into(),
            Branch::ShortCircuit(i) => format!("short_circuit:{i}"),
            Branch::Veto => "veto".into(),
            Branch::Halt => "halt".into(),
        }
    }
}

/// One trace entry: `{nodeId, type, value, branch}` (branch `null` when absent, as GAME's
/// response model serialises it).
#[derive(Debug, Clone)]
pub struct TraceEntry<'p> {
    pub node_id: &'p str,
    pub kind: NodeKind,
    pub value: Val,
    pub branch: Option<Branch>,
}

impl Serialize for TraceEntry<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("nodeId", self.node_id)?;
        m.serialize_entry("type", self.kind.as_str())?;
        m.serialize_entry("value", &self.value.to_json())?;
        m.serialize_entry("branch", &self.branch.map(Branch::label))?;
        m.end()
    }
}

/// Field values for one run, resolved before the walk (GAME's `ExecutionContext`). A path the
/// program reads but that is absent here fails at the node with `DSL_FIELD_NOT_PRECOMPUTED`.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    slots: Vec<(FieldPath, Val)>,
}

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    /// Set (or replace) a path's value.
    pub fn set(&mut self, path: FieldPath, value: Val) {
        if let Some(slot) = self.slots.iter_mut().find(|(p, _)| *p == path) {
            slot.1 = value;
        } else {
            self.slots.push((path, value));
        }
    }

    pub fn get(&self, path: &FieldPath) -> Option<&Val> {
        self.slots.iter().find(|(p, _)| p == path).map(|(_, v)| v)
    }

    pub fn contains(&self, path: &FieldPath) -> bool {
        self.get(path).is_some()
    }
}

/// What a phase starts from (DSL_EXTEND post: the parent's result).
#[derive(Debug, Clone, Default)]
pub struct Seed {
    pub points: Option<Val>,
    pub case_name: Option<String>,
    pub callback_data: BTreeMap<String, Val>,
}

/// The state after one phase.
#[derive(Debug, Clone)]
pub struct PhaseResult<'p> {
    /// `state.points` if something matched, else 0 (GAME's rule).
    pub points: Val,
    pub case_name: Option<String>,
    pub callback_data: BTreeMap<String, Val>,
    /// Pre phase: `data` as `set_data` left it.
    pub working_data: Map<String, Value>,
    pub vetoed: bool,
    pub matched: bool,
    pub trace: Vec<TraceEntry<'p>>,
    /// Nodes visited (what the budget counts).
    pub nodes: usize,
}

/// A failed phase: the error and what ran before it (for the execution log).
#[derive(Debug, Clone)]
pub struct PhaseFailure<'p> {
    pub error: DslError,
    pub trace: Vec<TraceEntry<'p>>,
    pub nodes: usize,
}

/// Run one phase of `program`.
///
/// `deadline` is consulted every 64 visited nodes; when it returns true the run stops with
/// `DSL_TIMEOUT`. Pass `&|| false` for no wall-clock guard.
// The failure carries the partial trace for the execution log; failing runs are rare, so its
// size on the Err path is not worth a Box on every call.
#[allow(clippy::result_large_err)]
pub fn run_phase<'p>(
    program: &'p Program,
    mode: Mode,
    fields: &Fields,
    working_data: Map<String, Value>,
    seed: Option<Seed>,
    limits: Limits,
    deadline: &dyn Fn() -> bool,
) -> Result<PhaseResult<'p>, PhaseFailure<'p>> {
    let mut st = State {
        fields,
        limits,
        deadline,
        count: 0,
        // Most programs trace fewer entries than this; one allocation instead of several.
        trace: Vec::with_capacity(128),
        points: Val::Int(0),
        case_name: None,
        callback: BTreeMap::new(),
        matched: false,
        vetoed: false,
        working_data,
    };
    if let Some(seed) = seed {
        // GAME: `float(parent.points or 0)`.
        st.points = match seed.points {
            Some(Val::Int(i)) => Val::Float(i as f64),
            Some(Val::Float(f)) => Val::Float(f),
            _ => Val::Float(0.0),
        };
        st.case_name = seed.case_name;
        st.callback = seed.callback_data;
        st.matched = true;
    }
    match st.program(program, mode) {
        Ok(_) => Ok(PhaseResult {
            points: if st.matched { st.points } else { Val::Int(0) },
            case_name: st.case_name,
            callback_data: st.callback,
            working_data: st.working_data,
            vetoed: st.vetoed,
            matched: st.matched,
            trace: st.trace,
            nodes: st.count,
        }),
        Err(error) => Err(PhaseFailure {
            error,
            trace: st.trace,
            nodes: st.count,
        }),
    }
}

/// Whether a statement list ran to the end or a statement halted the program.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Flow {
    Next,
    Halt,
}

struct State<'a, 'p> {
    fields: &'a Fields,
    limits: Limits,
    deadline: &'a dyn Fn() -> bool,
    count: usize,
    trace: Vec<TraceEntry<'p>>,
    points: Val,
    case_name: Option<String>,
    callback: BTreeMap<String, Val>,
    matched: bool,
    vetoed: bool,
    working_data: Map<String, Value>,
}

type Res<T> = Result<T, DslError>;

fn op_error(e: OpError, type_code: DslCode, id: &str, what: String) -> DslError {
    let code = e.code(type_code);
    let msg = match e {
        OpError::DivByZero => "division by zero".to_string(),
        OpError::Overflow => format!("{what}: the result does not fit a 64-bit integer."),
        OpError::TooLarge => format!(
            "{what}: the result would be longer than {} characters or items.",
            value::MAX_SEQ_LEN
        ),
        OpError::Type | OpError::Value => what,
    };
    DslError::new(code, id, msg)
}

impl<'p> State<'_, 'p> {
    fn step(&mut self, id: &str) -> Res<()> {
        self.count += 1;
        if self.count > self.limits.max_nodes {
            return Err(DslError::new(
                DslCode::LimitExceeded,
                id,
                format!(
                    "DSL execution exceeded maximum node count ({}).",
                    self.limits.max_nodes
                ),
            ));
        }
        if self.count.is_multiple_of(DEADLINE_EVERY) && (self.deadline)() {
            return Err(DslError::new(
                DslCode::Timeout,
                id,
                "DSL strategy execution exceeded its time limit.",
            ));
        }
        Ok(())
    }

    fn depth(&self, depth: usize, id: &str) -> Res<()> {
        if depth > self.limits.max_depth {
            return Err(DslError::new(
                DslCode::MaxDepthExceeded,
                id,
                format!(
                    "DSL execution exceeded maximum recursion depth ({}).",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(())
    }

    // Inlined: a trace entry is written per visited node.
    #[inline(always)]
    fn push(&mut self, id: &'p str, kind: NodeKind, value: Val, branch: Option<Branch>) {
        self.trace.push(TraceEntry {
            node_id: id,
            kind,
            value,
            branch,
        });
    }

    fn program(&mut self, p: &'p Program, mode: Mode) -> Res<Flow> {
        self.step(&p.id)?;
        let rules: &[Rule] = match mode {
            Mode::Full => &p.rules,
            Mode::Pre => p.pre_rules.as_deref().unwrap_or(&[]),
            Mode::Post => p.post_rules.as_deref().unwrap_or(&[]),
        };
        for r in rules {
            if self.rule(r)? == Flow::Halt {
                return Ok(Flow::Halt);
            }
        }
        if mode == Mode::Full
            && !self.matched
            && let Some(d) = &p.default
        {
            return self.statement(d, 1);
        }
        Ok(Flow::Next)
    }

    fn rule(&mut self, r: &'p Rule) -> Res<Flow> {
        let depth = 1;
        self.step(&r.id)?;
        self.depth(depth, &r.id)?;
        if self.condition(&r.when, depth + 1)? {
            self.push(&r.id, NodeKind::Rule, Val::Bool(true), Some(Branch::Match));
            return self.branch(&r.then, depth + 1);
        }
        for (i, b) in r.else_if.as_deref().unwrap_or(&[]).iter().enumerate() {
            // GAME steps the branch object itself (its id or None in errors).
            self.step(b.id.as_deref().unwrap_or("None"))?;
            if self.condition(&b.when, depth + 1)? {
                self.push(
                    &r.id,
                    NodeKind::Rule,
                    Val::Bool(true),
                    Some(Branch::ElseIf(u32::try_from(i).unwrap_or(u32::MAX))),
                );
                return self.branch(&b.then, depth + 1);
            }
        }
        if let Some(e) = r.else_.as_deref().filter(|e| !e.is_empty()) {
            self.push(&r.id, NodeKind::Rule, Val::Bool(false), Some(Branch::Else));
            return self.branch(e, depth + 1);
        }
        self.push(&r.id, NodeKind::Rule, Val::Bool(false), Some(Branch::Skip));
        Ok(Flow::Next)
    }

    fn branch(&mut self, stmts: &'p [Statement], depth: usize) -> Res<Flow> {
        for s in stmts {
            if self.statement(s, depth)? == Flow::Halt {
                return Ok(Flow::Halt);
            }
        }
        Ok(Flow::Next)
    }

    fn statement(&mut self, s: &'p Statement, depth: usize) -> Res<Flow> {
        let id = s.id();
        self.step(id)?;
        self.depth(depth, id)?;
        match s {
            Statement::AssignPoints {
                id,
                value,
                case_name,
            } => {
                let v = self.expr(value, depth + 1)?;
                if !v.is_number() {
                    return Err(DslError::new(
                        DslCode::AssignPointsNotNumber,
                        id,
                        format!(
                            "assign_points.value must evaluate to a number, got {}.",
                            v.type_name()
                        ),
                    ));
                }
                self.points = v.clone();
                self.case_name = Some(case_name.clone());
                self.matched = true;
                self.push(id, NodeKind::AssignPoints, v, Some(Branch::Match));
                Ok(Flow::Halt)
            }
            Statement::SetCallbackData { id, key, value } => {
                let v = self.expr(value, depth + 1)?;
                self.callback.insert(key.clone(), v.clone());
                self.push(id, NodeKind::SetCallbackData, v, None);
                Ok(Flow::Next)
            }
            Statement::SetData { id, key, value } => {
                let v = self.expr(value, depth + 1)?;
                self.working_data.insert(key.clone(), v.to_json());
                self.push(id, NodeKind::SetData, v, None);
                Ok(Flow::Next)
            }
            Statement::Veto { id, case_name } => {
                self.points = Val::Int(0);
                self.case_name = Some(case_name.clone());
                self.matched = true;
                self.vetoed = true;
                self.push(
                    id,
                    NodeKind::Veto,
                    Val::Str(Arc::from(case_name.as_str())),
                    Some(Branch::Veto),
                );
                Ok(Flow::Halt)
            }
            Statement::SetPoints { id, value } => {
                let v = self.expr(value, depth + 1)?;
                if !v.is_number() {
                    return Err(DslError::new(
                        DslCode::SetPointsNotNumber,
                        id,
                        format!(
                            "set_points.value must evaluate to a number, got {}.",
                            v.type_name()
                        ),
                    ));
                }
                self.points = v.clone();
                self.matched = true;
                self.push(id, NodeKind::SetPoints, v, None);
                Ok(Flow::Next)
            }
            Statement::SetCaseName { id, value } => {
                let v = self.expr(value, depth + 1)?;
                let name = match &v {
                    // GAME accepts any string; a case name is stored and bucketed, so the
                    // static rule for case names (1–200 printable ASCII) applies here too.
                    Val::Str(s) if is_valid_case_name(s) => s.to_string(),
                    other => {
                        return Err(DslError::new(
                            DslCode::SetCaseNameNotString,
                            id,
                            format!(
                                "set_case_name.value must evaluate to a string of 1-200 printable \
                                 ASCII characters, got {}.",
                                other.type_name()
                            ),
                        ));
                    }
                };
                self.case_name = Some(name);
                self.matched = true;
                self.push(id, NodeKind::SetCaseName, v, None);
                Ok(Flow::Next)
            }
            Statement::Return { id } => {
                self.push(id, NodeKind::Return, Val::None, Some(Branch::Halt));
                Ok(Flow::Halt)
            }
        }
    }

    fn condition(&mut self, c: &'p Condition, depth: usize) -> Res<bool> {
        match c {
            Condition::And { id, args } | Condition::Or { id, args } => {
                self.step(id)?;
                self.depth(depth, id)?;
                let is_and = matches!(c, Condition::And { .. });
                let kind = if is_and { NodeKind::And } else { NodeKind::Or };
                for (i, a) in args.iter().enumerate() {
                    let v = self.condition(a, depth + 1)?;
                    if v != is_and {
                        self.push(
                            id,
                            kind,
                            Val::Bool(v),
                            Some(Branch::ShortCircuit(u32::try_from(i).unwrap_or(u32::MAX))),
                        );
                        return Ok(v);
                    }
                }
                self.push(id, kind, Val::Bool(is_and), None);
                Ok(is_and)
            }
            Condition::Not { id, arg } => {
                self.step(id)?;
                self.depth(depth, id)?;
                let v = !self.condition(arg, depth + 1)?;
                self.push(id, NodeKind::Not, Val::Bool(v), None);
                Ok(v)
            }
            Condition::Compare {
                id,
                op,
                left,
                right,
            } => {
                self.step(id)?;
                self.depth(depth, id)?;
                let l = self.expr(left, depth + 1)?;
                let r = self.expr(right, depth + 1)?;
                let res = match op {
                    CompareOp::Eq => Ok(value::py_eq(&l, &r)),
                    CompareOp::Ne => Ok(!value::py_eq(&l, &r)),
                    CompareOp::Lt => value::py_lt(&l, &r),
                    CompareOp::Le => value::py_le(&l, &r),
                    CompareOp::Gt => value::py_gt(&l, &r),
                    CompareOp::Ge => value::py_ge(&l, &r),
                };
                let b = res.map_err(|e| {
                    op_error(
                        e,
                        DslCode::CompareTypeMismatch,
                        id,
                        format!(
                            "compare '{}' between incompatible types {} and {}.",
                            op.as_str(),
                            l.type_name(),
                            r.type_name()
                        ),
                    )
                })?;
                self.push(id, NodeKind::Compare, Val::Bool(b), None);
                Ok(b)
            }
            // A bare literal/field: counted as a condition, then evaluated as an expression
            // (counted again), as GAME does.
            Condition::Literal { id, value } => {
                self.step(id)?;
                self.depth(depth, id)?;
                Ok(self.literal(id, value, depth)?.truthy())
            }
            Condition::Field { id, path } => {
                self.step(id)?;
                self.depth(depth, id)?;
                Ok(self.field(id, path, depth)?.truthy())
            }
        }
    }

    fn literal(&mut self, id: &'p str, value: &Scalar, depth: usize) -> Res<Val> {
        self.step(id)?;
        self.depth(depth, id)?;
        let v = Val::from_scalar(value);
        self.push(id, NodeKind::Literal, v.clone(), None);
        Ok(v)
    }

    fn field(&mut self, id: &'p str, path: &FieldPath, depth: usize) -> Res<Val> {
        self.step(id)?;
        self.depth(depth, id)?;
        let Some(v) = self.fields.get(path).cloned() else {
            return Err(DslError::new(
                DslCode::FieldNotPrecomputed,
                id,
                format!("field.path '{path}' was not precomputed."),
            ));
        };
        self.push(id, NodeKind::Field, v.clone(), None);
        Ok(v)
    }

    fn expr(&mut self, e: &'p Expr, depth: usize) -> Res<Val> {
        match e {
            Expr::Literal { id, value } => self.literal(id, value, depth),
            Expr::Field { id, path } => self.field(id, path, depth),
            Expr::Arith {
                id,
                op,
                left,
                right,
            } => {
                self.step(id)?;
                self.depth(depth, id)?;
                let l = self.expr(left, depth + 1)?;
                let r = self.expr(right, depth + 1)?;
                let res = match op {
                    ArithOp::Add => value::add(&l, &r),
                    ArithOp::Sub => value::sub(&l, &r),
                    ArithOp::Mul => value::mul(&l, &r),
                    ArithOp::Div => value::div(&l, &r),
                    ArithOp::Min => value::min(&l, &r),
                    ArithOp::Max => value::max(&l, &r),
                };
                let v = res.map_err(|err| {
                    op_error(
                        err,
                        DslCode::ArithTypeMismatch,
                        id,
                        format!(
                            "arith '{}' between incompatible types {} and {}.",
                            op.as_str(),
                            l.type_name(),
                            r.type_name()
                        ),
                    )
                })?;
                self.push(id, NodeKind::Arith, v.clone(), None);
                Ok(v)
            }
            Expr::FuncCall { id, name, args } => {
                self.step(id)?;
                self.depth(depth, id)?;
                let mut vals: Vec<Val> = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.expr(a, depth + 1)?);
                }
                let res = match (name, vals.as_slice()) {
                    (FuncName::Int, [x]) => value::to_int(x),
                    (FuncName::Clamp, [v, lo, hi]) => value::clamp(v, lo, hi),
                    // The validator fixed the arity; unreachable for a validated program.
                    _ => Err(OpError::Type),
                };
                let v = res.map_err(|err| {
                    let types: Vec<&str> = vals.iter().map(Val::type_name).collect();
                    op_error(
                        err,
                        DslCode::FuncCallFailed,
                        id,
                        format!(
                            "func_call '{}' failed for argument types ({}).",
                            name.as_str(),
                            types.join(", ")
                        ),
                    )
                })?;
                self.push(id, NodeKind::FuncCall, v.clone(), None);
                Ok(v)
            }
        }
    }
}
