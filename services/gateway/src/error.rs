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

/// An error of the JSON API: RFC 9457 problem details (`application/problem+json`), with the
/// stable code, the message and the field errors as extension members.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// `about:blank`: the HTTP status says what kind of problem it is, `error` more precisely.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong, for a person to read.
    pub detail: String,
    /// A stable code: invalid_request, unauthenticated, forbidden, not_found, conflict, ...
    pub error: String,
    /// The same as `detail`.
    pub message: String,
    /// For invalid_request: what is wrong, field by field.
    pub errors: Vec<FieldErrorBody>,
}

/// The media type of the API's errors.
pub const PROBLEM_JSON: &str = "application/problem+json";

impl ErrorBody {
    pub fn new(
        status: StatusCode,
        error: &str,
        detail: String,
        errors: Vec<FieldErrorBody>,
    ) -> Self {
        Self {
            kind: "about:blank".into(),
            title: status.canonical_reason().unwrap_or("Error").into(),
            status: status.as_u16(),
            message: detail.clone(),
            detail,
            error: error.into(),
            errors,
        }
    }

    /// The body as a response, with the problem media type.
    pub fn respond(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, Json(self)).into_response();
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(PROBLEM_JSON),
        );
        response
    }
}

/// The stable code of a status that no handler chose (axum's own refusals).
fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// Every error answer under `/api/` (FHIR's aside) is a problem document: the handlers' are
/// already; what axum answers itself (a body that is not JSON or too large, a route or method
/// that is not there) is rewritten here, its text as the detail and its headers (`Allow`,
/// `Retry-After`) kept.
pub async fn api_problems(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    // FHIR answers its own errors as OperationOutcome resources.
    let path = request.uri().path();
    let api = path.starts_with("/api/") && !path.starts_with("/api/v1/fhir/");
    let asked = format!("{} {path}", request.method());
    let response = next.run(request).await;
    let status = response.status();
    if !api || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // A refusal rendered as a page (an extractor's) says what it was.
    if let Some(refusal) = response.extensions().get::<Refusal>().cloned() {
        let errors = refusal
            .errors
            .into_iter()
            .map(|(field, reason)| FieldErrorBody { field, reason })
            .collect();
        let out = ErrorBody::new(status, refusal.code, refusal.detail, errors).respond();
        return with_headers(out, response.headers());
    }
    // What axum answers itself is plain text or nothing; a document of its own is left alone.
    let plain = response
        .headers()
        .get(http::header::CONTENT_TYPE)
        .is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    if !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 16 * 1024)
        .await
        .unwrap_or_default();
    let mut detail = String::from_utf8_lossy(&text).trim().to_string();
    if detail.is_empty() {
        detail = match status {
            StatusCode::NOT_FOUND => format!("no such route: {asked}"),
            StatusCode::METHOD_NOT_ALLOWED => format!("{asked}: the method is not allowed here"),
            _ => status.canonical_reason().unwrap_or("error").to_string(),
        };
    }
    let out = ErrorBody::new(status, code_of(status), detail, Vec::new()).respond();
    with_headers(out, &parts.headers)
}

/// `out` with the headers of the answer it replaces (`Allow`, `Retry-After`), its own media
/// type and length kept.
fn with_headers(mut out: Response, headers: &http::HeaderMap) -> Response {
    for (name, value) in headers {
        if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// What an error rendered as a page was, for the API to answer it as a problem instead.
#[derive(Clone)]
struct Refusal {
    code: &'static str,
    detail: String,
    errors: Vec<(String, String)>,
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
        let errors = err
            .field_errors()
            .iter()
            .map(|e| FieldErrorBody {
                field: e.field.clone(),
                reason: e.reason.clone(),
            })
            .collect();
        let body = ErrorBody::new(status, err.code(), err.public_message(), errors);
        let mut response = body.respond();
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
                // Under `/api/` (an extractor's refusal: no session, say) it is answered as a
                // problem document instead, from this.
                response.extensions_mut().insert(Refusal {
                    code: err.code(),
                    detail: err.public_message(),
                    errors: err
                        .field_errors()
                        .iter()
                        .map(|e| (e.field.clone(), e.reason.clone()))
                        .collect(),
                });
                if let Some((name, value)) = err.retry_after() {
                    response.headers_mut().insert(name, value);
                }
                response
            }
        }
    }
}

/// The OpenAPI document says what the API answers: every error response (an `ErrorBody`) is
/// `application/problem+json`.
pub struct ProblemResponses;

impl utoipa::Modify for ProblemResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::RefOr;
        let error_body = "#/components/schemas/ErrorBody";
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for response in operation.responses.responses.values_mut() {
                    let RefOr::T(response) = response else {
                        continue;
                    };
                    let content = std::mem::take(&mut response.content);
                    response.content = content
                        .into_iter()
                        .map(|(media, content)| {
                            let is_error = matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location == error_body);
                            let media = if is_error && media == "application/json" {
                                PROBLEM_JSON.to_string()
                            } else {
                                media
                            };
                            (media, content)
                        })
                        .collect();
                }
            }
        }
    }
}
