use thiserror::Error;

/// Why a domain rule refused a change. Each variant maps to one stable API error code.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DomainError {
    /// An input field failed validation; `field` names it as the API spells it.
    #[error("{field}: {message}")]
    InvalidField { field: String, message: String },
    /// The requested state change is not an edge of the state machine.
    #[error("cannot move from {from} to {to}")]
    InvalidTransition { from: String, to: String },
    /// The actor is authenticated but this change is not theirs to make.
    #[error("{0}")]
    Forbidden(String),
    /// The record is no longer in a state that takes this change (merged away).
    #[error("{0}")]
    Conflict(String),
}

impl DomainError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::InvalidField {
            field: field.into(),
            message: message.into(),
        }
    }
}
