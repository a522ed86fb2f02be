//! The validator (GAME `app/engine/dsl_validator.py`): shape, whitelists, statement sections,
//! limits and auto ids, in GAME's order, so the first error reported is GAME's first error.
//!
//! It walks the author's JSON (not a serde-derived parse) because GAME's errors name the
//! offending node, and the node ids it fills in (`<parent id>.<type>.<index>`) must be the
//! ids Blockly and the trace see. The output is the typed [`Program`] plus what the award
//! route needs to know before running it: every field path read, hence every aggregate to load.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::ast::*;
use super::error::{DslCode, DslError};
use crate::analytics::Need;

/// Static and runtime limits (GAME's `DSL_MAX_NODES` / `DSL_MAX_DEPTH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Nodes counted by the validator, and nodes visited per run phase by the interpreter.
    pub max_nodes: usize,
    /// Nesting depth (a rule is at depth 1).
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_nodes: 1000,
            max_depth: 32,
        }
    }
}

/// A program that passed validation, with what it reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    program: Program,
    node_count: usize,
    paths: BTreeSet<FieldPath>,
}

impl Validated {
    pub fn program(&self) -> &Program {
        &self.program
    }

    /// Nodes counted by the validator (each else_if branch counts, bare conditions count twice,
    /// as in GAME).
    pub fn node_count(&self) -> usize {
        self.node_count
    }

    /// Every `field.path` the program reads, in any section.
    pub fn field_paths(&self) -> &BTreeSet<FieldPath> {
        &self.paths
    }

    /// The aggregates those paths are computed from (load these before running it).
    pub fn analytics_needs(&self) -> Vec<Need> {
        let mut needs: Vec<Need> = Vec::new();
        for n in self.paths.iter().filter_map(FieldPath::need) {
            if !needs.contains(&n) {
                needs.push(n);
            }
        }
        needs
    }

    /// The normalised AST (ids filled in), as stored and returned by the API.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(&self.program).unwrap_or(Value::Null)
    }
}

/// Validate `ast` with the default [`Limits`].
pub fn validate(ast: &Value) -> Result<Validated, DslError> {
    validate_with(ast, Limits::default())
}

/// Validate `ast`; re-validating the normalised output is idempotent (same ids, same program).
pub fn validate_with(ast: &Value, limits: Limits) -> Result<Validated, DslError> {
    let Value::Object(root) = ast else {
        return Err(DslError::new(
            DslCode::InvalidRoot,
            "root",
            "AST root must be an object.",
        ));
    };
    let mut v = Walker {
        limits,
        count: 0,
        paths: BTreeSet::new(),
    };
    let program = v.program(root)?;
    Ok(Validated {
        program,
        node_count: v.count,
        paths: v.paths,
    })
}

struct Walker {
    limits: Limits,
    count: usize,
    paths: BTreeSet<FieldPath>,
}

type Obj = Map<String, Value>;

/// The node's own id if it is a non-empty string, else `<parent>.<hint>.<index>` (GAME's
/// `_node_id`, which writes the generated id back into the AST).
fn node_id(node: &Obj, parent: &str, hint: &str, index: usize) -> NodeId {
    match node.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => format!("{parent}.{hint}.{index}"),
    }
}

/// Python's `str()` of a JSON value as GAME's messages show it.
fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "None".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(true)) => "True".to_string(),
        Some(Value::Bool(false)) => "False".to_string(),
        Some(other) => {
            let s = other.to_string();
            if s.len() > 80 {
                format!("{}...", &s[..s.floor_char_boundary(77)])
            } else {
                s
            }
        }
    }
}

fn type_of(node: &Obj) -> Option<&str> {
    node.get("type").and_then(Value::as_str)
}

fn err(code: DslCode, node: &str, msg: impl Into<String>) -> DslError {
    DslError::new(code, node, msg)
}

fn py_list(keys: &[&str]) -> String {
    let quoted: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
    format!("[{}]", quoted.join(", "))
}

impl Walker {
    fn step(&mut self, id: &str) -> Result<(), DslError> {
        self.count += 1;
        if self.count > self.limits.max_nodes {
            return Err(err(
                DslCode::MaxNodesExceeded,
                id,
                format!(
                    "AST exceeds the maximum allowed node count ({}).",
                    self.limits.max_nodes
                ),
            ));
        }
        Ok(())
    }

    fn depth(&self, depth: usize, id: &str) -> Result<(), DslError> {
        if depth > self.limits.max_depth {
            return Err(err(
                DslCode::MaxDepthExceeded,
                id,
                format!(
                    "AST nesting depth exceeds the maximum allowed ({}).",
                    self.limits.max_depth
                ),
            ));
        }
        Ok(())
    }

    /// Required keys present, nothing but `type`, `id`, required and `extra` keys.
    fn keys(node: &Obj, required: &[&str], extra: &[&str], id: &str) -> Result<(), DslError> {
        // The type's text is only built for an error message.
        let ty = || shown(node.get("type"));
        for k in required {
            if !node.contains_key(*k) {
                return Err(err(
                    DslCode::MissingKey,
                    id,
                    format!("Node '{}' missing required key '{k}'.", ty()),
                ));
            }
        }
        let allowed =
            |k: &str| required.contains(&k) || extra.contains(&k) || k == "type" || k == "id";
        if node.keys().all(|k| allowed(k)) {
            return Ok(());
        }
        let mut extras: Vec<&str> = node
            .keys()
            .map(String::as_str)
            .filter(|k| !allowed(k))
            .collect();
        extras.sort_unstable();
        Err(err(
            DslCode::UnexpectedKey,
            id,
            format!("Node '{}' has unexpected keys: {}.", ty(), py_list(&extras)),
        ))
    }

    fn program(&mut self, node: &Obj) -> Result<Program, DslError> {
        let nid = node_id(node, "p", "program", 0);
        self.step(&nid)?;
        if type_of(node) != Some("program") {
            return Err(err(
                DslCode::InvalidRoot,
                &nid,
                format!(
                    "Expected node type 'program', got '{}'.",
                    shown(node.get("type"))
                ),
            ));
        }
        Self::keys(
            node,
            &["rules"],
            &["pre_rules", "post_rules", "default", "parent_variables"],
            &nid,
        )?;
        let Some(Value::Array(rules_json)) = node.get("rules") else {
            return Err(err(
                DslCode::InvalidShape,
                &nid,
                "program.rules must be an array.",
            ));
        };
        let mut rules = Vec::with_capacity(rules_json.len());
        for (i, r) in rules_json.iter().enumerate() {
            rules.push(self.rule(r, &nid, i, 1, Section::Rule)?);
        }
        let mut sections: [Option<Vec<Rule>>; 2] = [None, None];
        for (slot, (key, section)) in [("pre_rules", Section::Pre), ("post_rules", Section::Post)]
            .into_iter()
            .enumerate()
        {
            match node.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, r) in items.iter().enumerate() {
                        out.push(self.rule(r, &nid, i, 1, section)?);
                    }
                    sections[slot] = Some(out);
                }
                Some(_) => {
                    return Err(err(
                        DslCode::InvalidShape,
                        &nid,
                        format!("program.{key} must be an array."),
                    ));
                }
            }
        }
        let parent_variables = match node.get("parent_variables") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                let mut out = BTreeMap::new();
                for (k, v) in m {
                    if !k.starts_with("variable_") {
                        return Err(err(
                            DslCode::InvalidParentVariables,
                            &nid,
                            format!(
                                "program.parent_variables key '{k}' must be a string starting with 'variable_'."
                            ),
                        ));
                    }
                    let Some(s) = scalar(v) else {
                        return Err(err(
                            DslCode::InvalidParentVariables,
                            &nid,
                            format!(
                                "program.parent_variables['{k}'] must be a JSON scalar (string, number, boolean, or null)."
                            ),
                        ));
                    };
                    out.insert(k.clone(), s);
                }
                Some(out)
            }
            Some(_) => {
                return Err(err(
                    DslCode::InvalidParentVariables,
                    &nid,
                    "program.parent_variables must be an object.",
                ));
            }
        };
        let default = match node.get("default") {
            None | Some(Value::Null) => None,
            Some(d) => Some(self.statement(d, &nid, 0, 1, Section::Default)?),
        };
        let [pre_rules, post_rules] = sections;
        Ok(Program {
            kind: ProgramTag::Program,
            id: nid,
            rules,
            default,
            pre_rules,
            post_rules,
            parent_variables,
        })
    }

    fn rule(
        &mut self,
        node: &Value,
        parent: &str,
        index: usize,
        depth: usize,
        section: Section,
    ) -> Result<Rule, DslError> {
        let Value::Object(node) = node else {
            return Err(err(
                DslCode::InvalidShape,
                parent,
                "program.rules[*] must be objects.",
            ));
        };
        let nid = node_id(node, parent, "rule", index);
        self.step(&nid)?;
        if type_of(node) != Some("rule") {
            return Err(err(
                DslCode::UnknownNodeType,
                &nid,
                format!(
                    "Expected node type 'rule', got '{}'.",
                    shown(node.get("type"))
                ),
            ));
        }
        Self::keys(node, &["when", "then"], &["else_if", "else"], &nid)?;
        self.depth(depth, &nid)?;
        let when = self.condition(&node["when"], &nid, 0, depth + 1, section)?;
        let then = self.then(node.get("then"), &nid, depth, section, "rule.then")?;
        let else_if = match node.get("else_if") {
            None | Some(Value::Null) => None,
            Some(Value::Array(branches)) => {
                let mut out = Vec::with_capacity(branches.len());
                for (j, b) in branches.iter().enumerate() {
                    let bid = format!("{nid}.else_if.{j}");
                    self.step(&bid)?;
                    let Value::Object(b) = b else {
                        return Err(err(
                            DslCode::InvalidShape,
                            &bid,
                            "rule.else_if[*] must be objects.",
                        ));
                    };
                    let mut extras: Vec<&str> = b
                        .keys()
                        .map(String::as_str)
                        .filter(|k| !matches!(*k, "when" | "then" | "id"))
                        .collect();
                    if !extras.is_empty() {
                        extras.sort_unstable();
                        return Err(err(
                            DslCode::UnexpectedKey,
                            &bid,
                            format!(
                                "rule.else_if[{j}] has unexpected keys: {}.",
                                py_list(&extras)
                            ),
                        ));
                    }
                    let Some(when) = b.get("when") else {
                        return Err(err(
                            DslCode::MissingKey,
                            &bid,
                            "rule.else_if[*] missing required key 'when'.",
                        ));
                    };
                    let when = self.condition(when, &bid, 0, depth + 1, section)?;
                    let then =
                        self.then(b.get("then"), &bid, depth, section, "rule.else_if[*].then")?;
                    let id = match b.get("id") {
                        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                        _ => None,
                    };
                    out.push(ElseIf { id, when, then });
                }
                Some(out)
            }
            Some(_) => {
                return Err(err(
                    DslCode::InvalidShape,
                    &nid,
                    "rule.else_if must be an array.",
                ));
            }
        };
        let else_ = match node.get("else") {
            None | Some(Value::Null) => None,
            Some(e) => Some(self.then(Some(e), &nid, depth, section, "rule.else")?),
        };
        Ok(Rule {
            kind: RuleTag::Rule,
            id: nid,
            when,
            then,
            else_if,
            else_,
        })
    }

    /// A non-empty statement list (a rule's `then`, an `else_if`'s `then`, `else`).
    fn then(
        &mut self,
        list: Option<&Value>,
        parent: &str,
        depth: usize,
        section: Section,
        label: &str,
    ) -> Result<Vec<Statement>, DslError> {
        let items = match list {
            Some(Value::Array(items)) if !items.is_empty() => items,
            _ => {
                return Err(err(
                    DslCode::EmptyBranch,
                    parent,
                    format!("{label} must be a non-empty array of statements."),
                ));
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, s) in items.iter().enumerate() {
            out.push(self.statement(s, parent, i, depth + 1, section)?);
        }
        Ok(out)
    }

    fn condition(
        &mut self,
        node: &Value,
        parent: &str,
        index: usize,
        depth: usize,
        section: Section,
    ) -> Result<Condition, DslError> {
        let Value::Object(obj) = node else {
            return Err(err(
                DslCode::InvalidShape,
                parent,
                "Condition must be an object.",
            ));
        };
        let ty = type_of(obj).unwrap_or("");
        if !matches!(ty, "and" | "or" | "not" | "compare" | "literal" | "field") {
            return Err(err(
                DslCode::UnknownNodeType,
                parent,
                format!("Unknown condition node type: '{}'.", shown(obj.get("type"))),
            ));
        }
        let nid = node_id(obj, parent, ty, index);
        self.step(&nid)?;
        self.depth(depth, &nid)?;
        match ty {
            "and" | "or" => {
                Self::keys(obj, &["args"], &[], &nid)?;
                let args = match &obj["args"] {
                    Value::Array(a) if !a.is_empty() => a,
                    _ => {
                        return Err(err(
                            DslCode::InvalidShape,
                            &nid,
                            format!("{ty}.args must be a non-empty array."),
                        ));
                    }
                };
                let mut out = Vec::with_capacity(args.len());
                for (i, a) in args.iter().enumerate() {
                    out.push(self.condition(a, &nid, i, depth + 1, section)?);
                }
                Ok(if ty == "and" {
                    Condition::And { id: nid, args: out }
                } else {
                    Condition::Or { id: nid, args: out }
                })
            }
            "not" => {
                Self::keys(obj, &["arg"], &[], &nid)?;
                let arg = self.condition(&obj["arg"], &nid, 0, depth + 1, section)?;
                Ok(Condition::Not {
                    id: nid,
                    arg: Box::new(arg),
                })
            }
            "compare" => {
                Self::keys(obj, &["op", "left", "right"], &[], &nid)?;
                let op = obj["op"]
                    .as_str()
                    .and_then(CompareOp::parse)
                    .ok_or_else(|| {
                        err(
                            DslCode::CompareOpNotAllowed,
                            &nid,
                            format!("compare.op '{}' is not allowed.", shown(obj.get("op"))),
                        )
                    })?;
                let left = self.expression(&obj["left"], &nid, 0, depth + 1, section)?;
                let right = self.expression(&obj["right"], &nid, 1, depth + 1, section)?;
                Ok(Condition::Compare {
                    id: nid,
                    op,
                    left,
                    right,
                })
            }
            // A bare literal/field: GAME counts the node once as a condition and again as the
            // expression it delegates to (same parent, index and depth, so the same id).
            _ => match self.expression(node, parent, index, depth, section)? {
                Expr::Literal { id, value } => Ok(Condition::Literal { id, value }),
                Expr::Field { id, path } => Ok(Condition::Field { id, path }),
                // Unreachable: `ty` is literal or field.
                _ => Err(err(
                    DslCode::UnknownNodeType,
                    parent,
                    format!("Unknown condition node type: '{ty}'."),
                )),
            },
        }
    }

    fn expression(
        &mut self,
        node: &Value,
        parent: &str,
        index: usize,
        depth: usize,
        section: Section,
    ) -> Result<Expr, DslError> {
        let Value::Object(obj) = node else {
            return Err(err(
                DslCode::InvalidShape,
                parent,
                "Expression must be an object.",
            ));
        };
        let ty = type_of(obj).unwrap_or("");
        if !matches!(ty, "literal" | "field" | "arith" | "func_call") {
            return Err(err(
                DslCode::UnknownNodeType,
                parent,
                format!(
                    "Unknown expression node type: '{}'.",
                    shown(obj.get("type"))
                ),
            ));
        }
        let nid = node_id(obj, parent, ty, index);
        self.step(&nid)?;
        self.depth(depth, &nid)?;
        match ty {
            "literal" => {
                Self::keys(obj, &["value"], &[], &nid)?;
                let value = scalar(&obj["value"]).ok_or_else(|| {
                    err(
                        DslCode::InvalidLiteral,
                        &nid,
                        "literal.value must be a JSON scalar (string, number, boolean, or null) \
                         and an integer must fit in 64 bits.",
                    )
                })?;
                Ok(Expr::Literal { id: nid, value })
            }
            "field" => {
                Self::keys(obj, &["path"], &[], &nid)?;
                let path = match &obj["path"] {
                    Value::String(s) if !s.is_empty() => s.as_str(),
                    _ => {
                        return Err(err(
                            DslCode::InvalidShape,
                            &nid,
                            "field.path must be a non-empty string.",
                        ));
                    }
                };
                let Some(fp) = FieldPath::parse(path) else {
                    return Err(err(
                        DslCode::FieldPathNotAllowed,
                        &nid,
                        format!(
                            "field.path '{path}' is not in the allowed set. Either reference a \
                             whitelisted analytic path or use 'data.<key>' where <key> is \
                             [A-Za-z0-9_]+."
                        ),
                    ));
                };
                if fp.is_parent() && section != Section::Post {
                    return Err(err(
                        DslCode::ParentFieldOutsidePost,
                        &nid,
                        format!(
                            "field.path '{path}' is only available inside post_rules \
                             (DSL_EXTEND mode)."
                        ),
                    ));
                }
                self.paths.insert(fp.clone());
                Ok(Expr::Field { id: nid, path: fp })
            }
            "arith" => {
                Self::keys(obj, &["op", "left", "right"], &[], &nid)?;
                let op = obj["op"].as_str().and_then(ArithOp::parse).ok_or_else(|| {
                    err(
                        DslCode::ArithOpNotAllowed,
                        &nid,
                        format!("arith.op '{}' is not allowed.", shown(obj.get("op"))),
                    )
                })?;
                let left = self.expression(&obj["left"], &nid, 0, depth + 1, section)?;
                let right = self.expression(&obj["right"], &nid, 1, depth + 1, section)?;
                Ok(Expr::Arith {
                    id: nid,
                    op,
                    left: Box::new(left),
                    right: Box::new(right),
                })
            }
            _ => {
                Self::keys(obj, &["name", "args"], &[], &nid)?;
                let name = obj["name"]
                    .as_str()
                    .and_then(FuncName::parse)
                    .ok_or_else(|| {
                        err(
                            DslCode::FuncNameNotAllowed,
                            &nid,
                            format!(
                                "func_call.name '{}' is not allowed.",
                                shown(obj.get("name"))
                            ),
                        )
                    })?;
                let args = match &obj["args"] {
                    Value::Array(a) if a.len() == name.arity() => a,
                    other => {
                        let actual = match other {
                            Value::Array(a) => a.len().to_string(),
                            _ => "non-list".to_string(),
                        };
                        return Err(err(
                            DslCode::FuncArityMismatch,
                            &nid,
                            format!(
                                "func_call '{}' expects {} args, got {actual}.",
                                name.as_str(),
                                name.arity()
                            ),
                        ));
                    }
                };
                let mut out = Vec::with_capacity(args.len());
                for (i, a) in args.iter().enumerate() {
                    out.push(self.expression(a, &nid, i, depth + 1, section)?);
                }
                Ok(Expr::FuncCall {
                    id: nid,
                    name,
                    args: out,
                })
            }
        }
    }

    fn statement(
        &mut self,
        node: &Value,
        parent: &str,
        index: usize,
        depth: usize,
        section: Section,
    ) -> Result<Statement, DslError> {
        let Value::Object(obj) = node else {
            return Err(err(
                DslCode::InvalidShape,
                parent,
                "Statement must be an object.",
            ));
        };
        let ty = type_of(obj).unwrap_or("");
        let Some((_, allowed)) = STATEMENT_CONTEXTS.iter().find(|(t, _)| *t == ty) else {
            let known = matches!(
                ty,
                "program"
                    | "rule"
                    | "and"
                    | "or"
                    | "not"
                    | "compare"
                    | "literal"
                    | "field"
                    | "arith"
                    | "func_call"
            );
            let msg = if known {
                let mut names: Vec<&str> = STATEMENT_CONTEXTS.iter().map(|(t, _)| *t).collect();
                names.sort_unstable();
                format!(
                    "Node type '{ty}' is not a valid statement (expected one of: {}).",
                    names.join(", ")
                )
            } else {
                format!("Unknown statement node type: '{}'.", shown(obj.get("type")))
            };
            return Err(err(DslCode::UnknownNodeType, parent, msg));
        };
        let nid = node_id(obj, parent, ty, index);
        if !allowed.contains(&section) {
            let mut names: Vec<&str> = allowed.iter().map(|s| s.as_str()).collect();
            names.sort_unstable();
            return Err(err(
                DslCode::StatementNotAllowed,
                &nid,
                format!(
                    "Statement '{ty}' is not allowed inside '{}' section (allowed: {}).",
                    section.as_str(),
                    py_list(&names)
                ),
            ));
        }
        self.step(&nid)?;
        self.depth(depth, &nid)?;
        let expr =
            |w: &mut Walker, id: &str| w.expression(&obj["value"], id, 0, depth + 1, section);
        Ok(match ty {
            "assign_points" => {
                Self::keys(obj, &["value", "case_name"], &[], &nid)?;
                let value = expr(self, &nid)?;
                let case_name = case_name(obj, &nid, "assign_points")?;
                Statement::AssignPoints {
                    id: nid,
                    value,
                    case_name,
                }
            }
            "set_callback_data" | "set_data" => {
                Self::keys(obj, &["key", "value"], &[], &nid)?;
                let key = match &obj["key"] {
                    Value::String(s) if !s.is_empty() => s.clone(),
                    _ => {
                        return Err(err(
                            DslCode::InvalidKey,
                            &nid,
                            format!("{ty}.key must be a non-empty string."),
                        ));
                    }
                };
                if ty == "set_data" && !is_data_key(&key) {
                    return Err(err(
                        DslCode::InvalidKey,
                        &nid,
                        "set_data.key must match [A-Za-z0-9_]+ so it is addressable via \
                         'data.<key>' from the AST.",
                    ));
                }
                let value = expr(self, &nid)?;
                if ty == "set_data" {
                    Statement::SetData {
                        id: nid,
                        key,
                        value,
                    }
                } else {
                    Statement::SetCallbackData {
                        id: nid,
                        key,
                        value,
                    }
                }
            }
            "veto" => {
                Self::keys(obj, &["case_name"], &[], &nid)?;
                let case_name = case_name(obj, &nid, "veto")?;
                Statement::Veto { id: nid, case_name }
            }
            "set_points" | "set_case_name" => {
                Self::keys(obj, &["value"], &[], &nid)?;
                let value = expr(self, &nid)?;
                if ty == "set_points" {
                    Statement::SetPoints { id: nid, value }
                } else {
                    Statement::SetCaseName { id: nid, value }
                }
            }
            _ => {
                Self::keys(obj, &[], &[], &nid)?;
                Statement::Return { id: nid }
            }
        })
    }
}

fn case_name(obj: &Obj, nid: &str, ty: &str) -> Result<String, DslError> {
    match obj.get("case_name") {
        Some(Value::String(s)) if is_valid_case_name(s) => Ok(s.clone()),
        _ => Err(err(
            DslCode::InvalidCaseName,
            nid,
            format!("{ty}.case_name must be 1-200 printable ASCII characters."),
        )),
    }
}

/// A JSON scalar as a [`Scalar`]; `None` for arrays, objects and integers outside i64.
fn scalar(v: &Value) -> Option<Scalar> {
    Some(match v {
        Value::Null => Scalar::Null,
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Scalar::Int(i)
            } else if n.is_f64() {
                Scalar::Float(n.as_f64()?)
            } else {
                return None;
            }
        }
        Value::String(s) => Scalar::Str(s.clone()),
        _ => return None,
    })
}
