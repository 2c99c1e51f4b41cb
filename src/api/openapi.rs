//! `GET /openapi.json`: the OpenAPI 3.1 document of every `/v1/` route, embedded in the binary
//! and checked against the route table by a test.

use hyper::StatusCode;

use super::respond::{self, Response};

/// The document, as shipped.
pub const DOCUMENT: &str = include_str!("openapi.json");

/// `GET /openapi.json`.
pub fn document() -> Response {
    respond::with_type(StatusCode::OK, "application/json", DOCUMENT)
}
