//! The one error type of the API and its mapping to RFC 9457 problem documents.
//!
//! Every failure a request can meet becomes an [`Error`]. Its status, problem type and detail
//! are decided here, and [`crate::api::respond::problem`] is the only place that turns one into
//! HTTP. Keeping the mapping here means a status code, a problem type and its explanation page
//! can never disagree.

use std::fmt;

use hyper::StatusCode;
use serde::Serialize;

/// One invalid field of a request, as listed in a validation problem's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name as the client wrote it (camelCase, dotted for nested fields).
    pub field: String,
    /// What is wrong with it, in words.
    pub message: String,
}

impl FieldError {
    /// Builds a field error; a shorthand used by every validator.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything that can make a request fail.
///
/// A request that fails changes nothing: operations check before they write (see the store's
/// invariants), so returning an `Error` never leaves partial state behind.
#[derive(Debug)]
pub enum Error {
    /// Malformed or invalid input; each bad field is listed.
    Validation(Vec<FieldError>),
    /// Malformed input that is not about one field (bad JSON, bad query string).
    BadRequest(String),
    /// Missing, unknown or malformed credentials.
    Unauthorized,
    /// Valid credentials without access to this route.
    Forbidden,
    /// Unknown route or resource; the string names what was not found.
    NotFound(String),
    /// Something that existed and is no longer valid (an expired or revoked portal link).
    Gone(String),
    /// The path exists but not with this method; lists the methods it has.
    MethodNotAllowed(&'static [&'static str]),
    /// A `version` that is not the stored one.
    VersionConflict { current: u64 },
    /// The request clashes with the stored state.
    Conflict(String),
    /// A body over the configured limit.
    PayloadTooLarge { limit: usize },
    /// A body that is not `application/json`.
    UnsupportedMediaType,
    /// Too many failed authentications from this address.
    RateLimited { retry_after_secs: u64 },
    /// The store failed to read or write (an I/O error from the disk); the cause is logged,
    /// never shown. Inside a write batch it aborts the batch and stops the store (see
    /// [`Error::StoreUnavailable`]).
    Storage(String),
    /// A stored record does not decode (a bug or a damaged file); the cause is logged, never
    /// shown. Inside a write batch it aborts the batch, but the store keeps running.
    Corrupt(String),
    /// The store cannot write: a storage fault stopped it and hookd is restarting. Says whether
    /// the request may have been stored all the same.
    StoreUnavailable(Unstored),
    /// A bug or an unexpected condition; the cause is logged, never shown.
    Internal(String),
}

/// What a client refused with [`Error::StoreUnavailable`] can know about its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unstored {
    /// The request was refused before anything of it reached the disk.
    NothingStored,
    /// The store failed while making this request durable: it may have reached the disk and
    /// be applied once the store is back, or not. A retry with the same idempotency key is safe.
    OutcomeUnknown,
}

/// Every problem type hookd answers with, by its `type` name, with its title and explanation.
///
/// `GET /problems/<name>` serves the explanation, so this table is the documentation too.
pub const PROBLEM_TYPES: &[(&str, &str, &str)] = &[
    (
        "validation-error",
        "Validation failed",
        "The request was malformed or a field was missing or invalid. The `errors` member lists every bad field with a message; fix them and send the request again.",
    ),
    (
        "unauthorized",
        "Unauthorized",
        "The request carried no token, an unknown or revoked token, or a malformed Authorization header. Send `Authorization: Bearer <token>`.",
    ),
    (
        "forbidden",
        "Forbidden",
        "The token is valid but may not use this route: account tokens and portal sessions reach only their own account, and never admin routes; a portal session never manages tokens or portal links, and a read-only one changes nothing.",
    ),
    (
        "not-found",
        "Not found",
        "No route or resource exists at this address.",
    ),
    (
        "gone",
        "Gone",
        "The link existed but no longer works: it expired or was revoked. Ask for a new one.",
    ),
    (
        "method-not-allowed",
        "Method not allowed",
        "The path exists but does not accept this method. The `Allow` header lists the methods it accepts.",
    ),
    (
        "version-conflict",
        "Version conflict",
        "The `version` sent does not match the stored one: somebody changed the resource since you read it. Read it again, reapply your change and send the current version.",
    ),
    (
        "conflict",
        "Conflict",
        "The request clashes with the current state, for example an id already in use or an idempotency key reused with another body.",
    ),
    (
        "payload-too-large",
        "Payload too large",
        "The request body, or one event in it, is larger than the configured limit.",
    ),
    (
        "unsupported-media-type",
        "Unsupported media type",
        "Request bodies must be JSON, sent with `Content-Type: application/json`.",
    ),
    (
        "rate-limited",
        "Too many requests",
        "Too many failed authentications came from this address. Wait for the number of seconds in `Retry-After`.",
    ),
    (
        "store-unavailable",
        "Store unavailable",
        "hookd cannot write to its store (a storage fault, a full disk, or an unreachable database) and is restarting or reconnecting. Try again in a few seconds. The `detail` member says whether the request may have been stored all the same; an event retried with the same idempotency key is never stored twice.",
    ),
    (
        "internal",
        "Internal error",
        "hookd met an unexpected condition. The server log has the cause; nothing was changed.",
    ),
];

impl Error {
    /// The problem type name (the last segment of `type`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Error::Validation(_) | Error::BadRequest(_) => "validation-error",
            Error::Unauthorized => "unauthorized",
            Error::Forbidden => "forbidden",
            Error::NotFound(_) => "not-found",
            Error::Gone(_) => "gone",
            Error::MethodNotAllowed(_) => "method-not-allowed",
            Error::VersionConflict { .. } => "version-conflict",
            Error::Conflict(_) => "conflict",
            Error::PayloadTooLarge { .. } => "payload-too-large",
            Error::UnsupportedMediaType => "unsupported-media-type",
            Error::RateLimited { .. } => "rate-limited",
            Error::StoreUnavailable(_) => "store-unavailable",
            Error::Storage(_) | Error::Corrupt(_) | Error::Internal(_) => "internal",
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Validation(_) | Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Unauthorized => StatusCode::UNAUTHORIZED,
            Error::Forbidden => StatusCode::FORBIDDEN,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::Gone(_) => StatusCode::GONE,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::VersionConflict { .. } | Error::Conflict(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::StoreUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::Storage(_) | Error::Corrupt(_) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The human-readable `detail` member: what exactly went wrong with this request.
    pub fn detail(&self) -> String {
        match self {
            Error::Validation(errors) => errors
                .iter()
                .map(|e| format!("{} {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
            Error::BadRequest(detail) => detail.clone(),
            Error::Unauthorized => "a valid bearer token is required".into(),
            Error::Forbidden => "this token has no access to this resource".into(),
            Error::NotFound(what) => format!("{what} not found"),
            Error::Gone(detail) => detail.clone(),
            Error::MethodNotAllowed(allow) => {
                format!("allowed methods: {}", allow.join(", "))
            }
            Error::VersionConflict { current } => {
                format!("the current version is {current}")
            }
            Error::Conflict(detail) => detail.clone(),
            Error::PayloadTooLarge { limit } => format!("the limit is {limit} bytes"),
            Error::UnsupportedMediaType => "the body must be application/json".into(),
            Error::RateLimited { retry_after_secs } => {
                format!("too many failed authentications; retry after {retry_after_secs} s")
            }
            Error::StoreUnavailable(Unstored::NothingStored) => {
                "the store cannot write after a storage fault; nothing of this request was stored. hookd is restarting: try again shortly".into()
            }
            Error::StoreUnavailable(Unstored::OutcomeUnknown) => {
                "the store failed while saving this request, so its outcome is unknown: it may have been stored (and take effect once the store is back). Retrying an event with the same idempotency key is safe".into()
            }
            Error::Storage(_) | Error::Corrupt(_) | Error::Internal(_) => {
                "an internal error occurred; the server log has the cause".into()
            }
        }
    }

    /// A validation error about a single field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Validation(vec![FieldError::new(field, message)])
    }

    /// Whether this error means a write batch must be abandoned: the store failed, or a record
    /// it read does not decode (the job may have written part of its changes).
    pub fn is_storage(&self) -> bool {
        matches!(self, Error::Storage(_) | Error::Corrupt(_))
    }

    /// Whether this error is a fault of the store itself (an I/O error), after which it cannot
    /// be trusted to write again until it is reopened.
    pub fn is_fault(&self) -> bool {
        matches!(self, Error::Storage(_))
    }
}

/// The title of a problem type, from [`PROBLEM_TYPES`].
pub fn problem_title(type_name: &str) -> &'static str {
    PROBLEM_TYPES
        .iter()
        .find(|(name, _, _)| *name == type_name)
        .map(|(_, title, _)| *title)
        .unwrap_or("Error")
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Storage(cause) => write!(f, "storage error: {cause}"),
            Error::Corrupt(cause) => write!(f, "corrupt record: {cause}"),
            Error::Internal(cause) => write!(f, "internal error: {cause}"),
            other => write!(f, "{}: {}", other.type_name(), other.detail()),
        }
    }
}

impl std::error::Error for Error {}

macro_rules! storage_error_from {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Error::Storage(e.to_string())
            }
        }
    )*};
}

storage_error_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
