//! One error type for the gateway, with one mapping to HTTP: JSON for the API, pages otherwise.

use alongside_platform::error::{field_errors, FieldError};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Json;
use http::StatusCode;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("sign in to continue")]
    SignInRequired,
    #[error("sign in to continue")]
    Unauthenticated,
    #[error("this form has expired; go back, reload the page and try again")]
    Csrf,
    #[error("you do not have permission to do this")]
    Forbidden,
    /// A service refused, saying why (a control of duties, say): the reason is shown as it is.
    #[error("{0}")]
    Refused(String),
    #[error("not found")]
    NotFound,
    #[error("there is a problem with what was sent")]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Conflict(String),
    #[error("a service is unavailable; try again shortly")]
    Unavailable,
    #[error("too many attempts: try again in {retry_after} seconds")]
    TooManyRequests { retry_after: u64 },
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// The same refusal with its fields renamed, for a form whose inputs are named apart from the
    /// service's fields.
    pub fn with_fields(self, rename: impl Fn(&str) -> String) -> AppError {
        match self {
            AppError::Invalid(errors) => AppError::Invalid(
                errors
                    .into_iter()
                    .map(|mut e| {
                        e.field = rename(&e.field);
                        e
                    })
                    .collect(),
            ),
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            AppError::SignInRequired => StatusCode::SEE_OTHER,
            AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AppError::Csrf | AppError::Forbidden | AppError::Refused(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::SignInRequired | AppError::Unauthenticated => "unauthenticated",
            AppError::Csrf => "csrf_token_invalid",
            AppError::Forbidden | AppError::Refused(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::Invalid(_) => "invalid_request",
            AppError::Conflict(_) => "conflict",
            AppError::Unavailable => "unavailable",
            AppError::TooManyRequests { .. } => "too_many_requests",
            AppError::Internal(_) => "internal",
        }
    }

    /// What a person may be shown: internal detail stays in the log.
    pub fn public_message(&self) -> String {
        match self {
            AppError::Internal(_) => format!(
                "something went wrong (trace {})",
                alongside_platform::telemetry::current_trace_id()
            ),
            other => other.to_string(),
        }
    }

    /// `Retry-After` for a refusal that passes with time.
    fn retry_after(&self) -> Option<(http::HeaderName, http::HeaderValue)> {
        match self {
            AppError::TooManyRequests { retry_after } => Some((
                http::header::RETRY_AFTER,
                http::HeaderValue::from(*retry_after),
            )),
            _ => None,
        }
    }

    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            AppError::Invalid(errors) => errors,
            _ => &[],
        }
    }
}

impl From<tonic::Status> for AppError {
    fn from(status: tonic::Status) -> Self {
        use tonic::Code;
        match status.code() {
            Code::InvalidArgument => {
                let errors = field_errors(&status);
                if errors.is_empty() {
                    AppError::Invalid(vec![FieldError::new("request", status.message())])
                } else {
                    AppError::Invalid(errors)
                }
            }
            Code::NotFound => AppError::NotFound,
            Code::PermissionDenied if !status.message().is_empty() => {
                AppError::Refused(status.message().to_string())
            }
            Code::PermissionDenied => AppError::Forbidden,
            Code::Unauthenticated => AppError::Internal(format!(
                "a service refused the gateway's token: {}",
                status.message()
            )),
            Code::AlreadyExists => AppError::Conflict(status.message().to_string()),
            Code::Unavailable | Code::DeadlineExceeded => AppError::Unavailable,
            _ => AppError::Internal(format!("{:?}: {}", status.code(), status.message())),
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::Internal(format!("gateway database: {err}"))
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// A stable code: invalid_request, unauthenticated, forbidden, not_found, conflict, ...
    pub error: String,
    pub message: String,
    /// For invalid_request: what is wrong, field by field.
    pub errors: Vec<FieldErrorBody>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldErrorBody {
    pub field: String,
    pub reason: String,
}

/// The JSON form of an error, for the API.
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        ApiError(err)
    }
}

impl From<tonic::Status> for ApiError {
    fn from(status: tonic::Status) -> Self {
        ApiError(status.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = self.0;
        if let AppError::Internal(detail) = &err {
            tracing::error!(error = %detail, "request failed");
        }
        let status = match err {
            AppError::SignInRequired => StatusCode::UNAUTHORIZED,
            ref other => other.status(),
        };
        let body = ErrorBody {
            error: err.code().into(),
            message: err.public_message(),
            errors: err
                .field_errors()
                .iter()
                .map(|e| FieldErrorBody {
                    field: e.field.clone(),
                    reason: e.reason.clone(),
                })
                .collect(),
        };
        let mut response = (status, Json(body)).into_response();
        if let Some((name, value)) = err.retry_after() {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// Pages: sign-in redirects, other errors render an error page.
impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::SignInRequired => Redirect::to("/sign-in").into_response(),
            err => {
                if let AppError::Internal(detail) = &err {
                    tracing::error!(error = %detail, "request failed");
                }
                let status = err.status();
                let html = crate::pages::render_error(status, &err.public_message());
                let mut response = (status, html).into_response();
                if let Some((name, value)) = err.retry_after() {
                    response.headers_mut().insert(name, value);
                }
                response
            }
        }
    }
}
