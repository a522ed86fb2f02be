//! Errors of the custom-strategy language: one stable `DSL_*` code per cause, the node that
//! caused it, a human sentence, and the execution status it counts as in the execution log.

use std::fmt;

use serde::Serialize;

use crate::strategy::StrategyError;

/// How a failed run is counted (GAME's execution-log `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    Ok,
    Error,
    Timeout,
    Limit,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Ok => "ok",
            RunStatus::Error => "error",
            RunStatus::Timeout => "timeout",
            RunStatus::Limit => "limit",
        }
    }
}

macro_rules! codes {
    ($($variant:ident => $text:literal, $status:ident, $http:literal;)*) => {
        /// Every error the validator and the interpreter can produce.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum DslCode { $($variant,)* }

        impl DslCode {
            /// The stable machine code, e.g. `"DSL_ARITH_DIV_BY_ZERO"`.
            pub fn as_str(self) -> &'static str {
                match self { $(DslCode::$variant => $text,)* }
            }

            /// The execution-log status a run failing with this code counts as.
            pub fn status(self) -> RunStatus {
                match self { $(DslCode::$variant => RunStatus::$status,)* }
            }

            /// The HTTP status the API answers: 400 for invalid programs and runtime type
            /// errors (GAME's 400), 422 for limits and timeouts (GAME used 412).
            pub fn http_status(self) -> u16 {
                match self { $(DslCode::$variant => $http,)* }
            }

            pub const ALL: &'static [DslCode] = &[$(DslCode::$variant,)*];
        }
    };
}

codes! {
    // Shape (validator). GAME raised these as plain strings; every one has a code here.
    InvalidRoot => "DSL_INVALID_ROOT", Error, 400;
    UnknownNodeType => "DSL_UNKNOWN_NODE_TYPE", Error, 400;
    MissingKey => "DSL_MISSING_KEY", Error, 400;
    UnexpectedKey => "DSL_UNEXPECTED_KEY", Error, 400;
    InvalidShape => "DSL_INVALID_SHAPE", Error, 400;
    EmptyBranch => "DSL_EMPTY_BRANCH", Error, 400;
    StatementNotAllowed => "DSL_STATEMENT_NOT_ALLOWED", Error, 400;
    CompareOpNotAllowed => "DSL_COMPARE_OP_NOT_ALLOWED", Error, 400;
    ArithOpNotAllowed => "DSL_ARITH_OP_NOT_ALLOWED", Error, 400;
    FuncNameNotAllowed => "DSL_FUNC_NAME_NOT_ALLOWED", Error, 400;
    FuncArityMismatch => "DSL_FUNC_ARITY_MISMATCH", Error, 400;
    FieldPathNotAllowed => "DSL_FIELD_PATH_NOT_ALLOWED", Error, 400;
    ParentFieldOutsidePost => "DSL_PARENT_FIELD_OUTSIDE_POST", Error, 400;
    InvalidLiteral => "DSL_INVALID_LITERAL", Error, 400;
    InvalidCaseName => "DSL_INVALID_CASE_NAME", Error, 400;
    InvalidKey => "DSL_INVALID_KEY", Error, 400;
    InvalidParentVariables => "DSL_INVALID_PARENT_VARIABLES", Error, 400;
    UnknownParentVariable => "DSL_UNKNOWN_PARENT_VARIABLE", Error, 400;
    // Limits (validator and runtime).
    MaxNodesExceeded => "DSL_MAX_NODES_EXCEEDED", Limit, 422;
    MaxDepthExceeded => "DSL_MAX_DEPTH_EXCEEDED", Limit, 422;
    LimitExceeded => "DSL_LIMIT_EXCEEDED", Limit, 422;
    ValueTooLarge => "DSL_VALUE_TOO_LARGE", Limit, 422;
    ArithOverflow => "DSL_ARITH_OVERFLOW", Limit, 422;
    Timeout => "DSL_TIMEOUT", Timeout, 422;
    // Runtime (interpreter).
    AssignPointsNotNumber => "DSL_ASSIGN_POINTS_NOT_NUMBER", Error, 400;
    SetPointsNotNumber => "DSL_SET_POINTS_NOT_NUMBER", Error, 400;
    SetCaseNameNotString => "DSL_SET_CASE_NAME_NOT_STRING", Error, 400;
    CompareTypeMismatch => "DSL_COMPARE_TYPE_MISMATCH", Error, 400;
    ArithTypeMismatch => "DSL_ARITH_TYPE_MISMATCH", Error, 400;
    ArithDivByZero => "DSL_ARITH_DIV_BY_ZERO", Error, 400;
    FuncCallFailed => "DSL_FUNC_CALL_FAILED", Error, 400;
    FieldNotPrecomputed => "DSL_FIELD_NOT_PRECOMPUTED", Error, 400;
    PointsNotFinite => "DSL_POINTS_NOT_FINITE", Error, 400;
    // The parent built-in of a DSL_EXTEND program refused the award (e.g. greengage without
    // `data.minutes`); `DslError::parent` holds its error.
    ParentFailed => "DSL_PARENT_FAILED", Error, 422;
    NoAstToSimulate => "DSL_NO_AST_TO_SIMULATE", Error, 400;
}

impl fmt::Display for DslCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for DslCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A validation or runtime error.
#[derive(Debug, Clone, PartialEq)]
pub struct DslError {
    pub code: DslCode,
    /// The offending node (GAME's `X-Node-Id`); `None` only for a non-object root.
    pub node_id: Option<String>,
    /// A human sentence (the problem+json `detail`).
    pub message: String,
    /// [`DslCode::ParentFailed`] only: what the parent built-in returned.
    pub parent: Option<StrategyError>,
}

impl DslError {
    pub(crate) fn new(
        code: DslCode,
        node_id: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        DslError {
            code,
            node_id: Some(node_id.into()),
            message: message.into(),
            parent: None,
        }
    }

    pub fn status(&self) -> RunStatus {
        self.code.status()
    }

    pub fn http_status(&self) -> u16 {
        match &self.parent {
            // A parent that failed because of the caller's data is the caller's 422; a
            // parent failing for a server-side reason stays a server error.
            Some(e) if !e.is_client_error() => 500,
            _ => self.code.http_status(),
        }
    }
}

impl fmt::Display for DslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DslError {}
