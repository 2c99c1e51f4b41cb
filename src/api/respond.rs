//! Building responses: JSON, plain text, and the one mapping of [`Error`] to problem+json.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::StatusCode;
use hyper::body::Frame;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::{Error, problem_title};

/// The body type of every response hookd sends: a whole buffer, or a stream (backups).
pub type Body = BoxBody<Bytes, std::io::Error>;

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).map_err(|never| match never {}).boxed()
}

/// A body fed chunk by chunk from a channel; an `Err` chunk aborts the response.
struct ChannelBody(mpsc::Receiver<Result<Bytes, std::io::Error>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|c| c.map(Frame::data)))
    }
}

/// A streamed response: the caller sends the chunks.
pub fn streamed(
    status: StatusCode,
    content_type: &'static str,
) -> (Response, mpsc::Sender<Result<Bytes, std::io::Error>>) {
    let (tx, rx) = mpsc::channel(4);
    let mut response = hyper::Response::new(ChannelBody(rx).boxed());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    (response, tx)
}
/// A response as handlers build it.
pub type Response = hyper::Response<Body>;

/// A JSON response with `status`.
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(bytes) => with_type(status, "application/json", bytes),
        Err(e) => problem(
            &Error::Internal(format!("cannot serialise response: {e}")),
            "",
        ),
    }
}

/// A response with a body of the given content type.
pub fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response {
    let mut response = hyper::Response::new(full(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// An empty response (204 and the like).
pub fn empty(status: StatusCode) -> Response {
    let mut response = hyper::Response::new(full(Bytes::new()));
    *response.status_mut() = status;
    response
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    type_uri: String,
    title: &'static str,
    status: u16,
    detail: String,
    instance: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [crate::error::FieldError]>,
}

/// The problem document of `error`; internal causes are logged here, never sent.
fn problem_body<'a>(error: &'a Error, instance: &'a str) -> Problem<'a> {
    if matches!(
        error,
        Error::Internal(_) | Error::Storage(_) | Error::Corrupt(_)
    ) {
        tracing::error!(error = %error, path = instance, "request failed");
    }
    let type_name = error.type_name();
    Problem {
        type_uri: format!("/problems/{type_name}"),
        title: problem_title(type_name),
        status: error.status().as_u16(),
        detail: error.detail(),
        instance,
        errors: match error {
            Error::Validation(errors) => Some(errors),
            _ => None,
        },
    }
}

/// The problem document of `error` as a JSON value, for one item of a batch response.
pub fn problem_value(error: &Error, instance: &str) -> serde_json::Value {
    serde_json::to_value(problem_body(error, instance)).unwrap_or(serde_json::Value::Null)
}

/// The problem+json response for `error` on the request path `instance`.
///
/// This is the only place an [`Error`] becomes HTTP. Internal causes are logged here and never
/// sent.
pub fn problem(error: &Error, instance: &str) -> Response {
    let status = error.status();
    let bytes =
        serde_json::to_vec(&problem_body(error, instance)).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = with_type(status, "application/problem+json", bytes);
    let headers = response.headers_mut();
    match error {
        Error::Unauthorized => {
            headers.insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        Error::MethodNotAllowed(allow) => {
            if let Ok(v) = HeaderValue::from_str(&allow.join(", ")) {
                headers.insert(ALLOW, v);
            }
        }
        Error::RateLimited { retry_after_secs } => {
            headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after_secs));
        }
        // A supervisor restarts hookd within seconds.
        Error::StoreUnavailable(_) => {
            headers.insert(RETRY_AFTER, HeaderValue::from(5u64));
        }
        _ => {}
    }
    response
}
