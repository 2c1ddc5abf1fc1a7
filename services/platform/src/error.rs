//! One error type at the service boundary, with one mapping to `tonic::Status`.

use sea_orm::{DbErr, RuntimeErr, SqlErr};
use serde::{Deserialize, Serialize};
use tonic::Status;

/// One problem with one field of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub reason: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("invalid request: {}", describe(.0))]
    Invalid(Vec<FieldError>),
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("conflict: {0}")]
    Conflict(String),
    /// The role may call this, but not for this record (e.g. notes of a partner one does not support).
    #[error("{0}")]
    Forbidden(String),
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.reason))
        .collect::<Vec<_>>()
        .join("; ")
}

impl ServiceError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, reason)])
    }

    pub fn not_found(what: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            what,
            id: id.into(),
        }
    }
}

/// Collects field errors from a validation pass; `finish` fails if there were any.
#[derive(Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn check(&mut self, ok: bool, field: &str, reason: &str) {
        if !ok {
            self.0.push(FieldError::new(field, reason));
        }
    }

    pub fn push(&mut self, field: &str, reason: impl Into<String>) {
        self.0.push(FieldError::new(field, reason));
    }

    pub fn finish(self) -> Result<(), ServiceError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ServiceError::Invalid(self.0))
        }
    }
}

impl From<DbErr> for ServiceError {
    fn from(err: DbErr) -> Self {
        if let Some(SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
            return ServiceError::Conflict(detail);
        }
        match &err {
            DbErr::ConnectionAcquire(_) | DbErr::Conn(RuntimeErr::SqlxError(_)) => {
                ServiceError::Unavailable("the database is not reachable; try again shortly".into())
            }
            _ => ServiceError::Internal(err.to_string()),
        }
    }
}

/// The metadata key under which invalid-argument statuses carry their field errors as JSON.
pub const FIELD_ERRORS_KEY: &str = "x-field-errors-bin";

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::Invalid(errors) => {
                let mut status = Status::invalid_argument(describe(&errors));
                if let Ok(json) = serde_json::to_vec(&errors) {
                    status.metadata_mut().insert_bin(
                        FIELD_ERRORS_KEY,
                        tonic::metadata::MetadataValue::from_bytes(&json),
                    );
                }
                status
            }
            ServiceError::NotFound { .. } => Status::not_found(err.to_string()),
            ServiceError::Conflict(message) => Status::already_exists(message),
            ServiceError::Forbidden(message) => Status::permission_denied(message),
            ServiceError::Unavailable(message) => Status::unavailable(message),
            ServiceError::Internal(message) => {
                // Opaque to the caller; the detail goes to the log with the trace id.
                tracing::error!(error = %message, "internal error");
                Status::internal("internal error")
            }
        }
    }
}

/// The field errors an invalid-argument status carries, for the gateway to show by field.
pub fn field_errors(status: &Status) -> Vec<FieldError> {
    status
        .metadata()
        .get_bin(FIELD_ERRORS_KEY)
        .and_then(|v| v.to_bytes().ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_survive_the_status_round_trip() {
        let mut v = Violations::default();
        v.check(false, "given_name", "is required");
        v.check(true, "email", "never shown");
        let status: Status = v.finish().unwrap_err().into();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            field_errors(&status),
            vec![FieldError::new("given_name", "is required")]
        );
    }

    #[test]
    fn internal_errors_are_opaque() {
        let status: Status = ServiceError::Internal("secret detail".into()).into();
        assert_eq!(status.message(), "internal error");
    }
}
