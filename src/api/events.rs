//! `/v1/accounts/{accountId}/events`: ingest (single and batch), list, show.

use hyper::StatusCode;
use hyper::header::HeaderValue;
use serde_json::Value;
use serde_json::value::RawValue;

use super::input::Fields;
use super::request::{CursorKind, next_cursor};
use super::respond::{self, Response};
use super::views::{DeliverySummary, EventView, IngestView};
use super::{App, Call, list_response};
use crate::error::Error;
use crate::ids::EventId;
use crate::patterns;
use crate::records::StoredEvent;
use crate::store::{FanOut, NewEvent};
use crate::time::{format_rfc3339, now_millis};

/// The most events one batch request may carry.
pub const MAX_BATCH_EVENTS: usize = 1000;

/// Validates one event body (`type`, `data`, `idempotencyKey`), keeping `data`'s bytes: the
/// same field reader as every other body. Public so the fuzzer can reach it.
pub fn parse_event(body: &[u8], header_key: Option<&str>) -> Result<NewEvent, Error> {
    let mut fields = Fields::parse(body)?;
    let event_type = match fields.take("type") {
        None => {
            fields.missing("type");
            None
        }
        Some(Value::String(t)) => match patterns::check_event_type(&t) {
            Err(message) => {
                fields.error("type", message);
                None
            }
            Ok(()) if t.starts_with(patterns::SYSTEM_PREFIX) => {
                fields.error(
                    "type",
                    "must not start with hookd. (reserved for system events)",
                );
                None
            }
            Ok(()) => Some(t),
        },
        Some(_) => {
            fields.error("type", "must be a string");
            None
        }
    };
    // `null` is a value here: the event's data may be null.
    let data = match fields.raw("data") {
        None => {
            fields.error("data", "is required (null is allowed)");
            None
        }
        Some(raw) => Some(raw.get().as_bytes().to_vec()),
    };
    let body_key = fields.optional_string("idempotencyKey", 1, 200);
    let idempotency_key = match (body_key, header_key) {
        (Some(b), Some(h)) if b != h => {
            fields.error("idempotencyKey", "differs from the Idempotency-Key header");
            None
        }
        (Some(b), _) => Some(b),
        (None, Some(h)) => Some(h.to_string()),
        (None, None) => None,
    };
    let (event_type, data) = fields.finish_with(event_type.zip(data))?;
    Ok(NewEvent {
        event_type,
        data,
        idempotency_key,
    })
}

fn header_idempotency_key(call: &Call) -> Result<Option<String>, Error> {
    match call.parts.headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => match v.to_str() {
            Ok(k) if (1..=200).contains(&k.chars().count()) => Ok(Some(k.to_string())),
            _ => Err(Error::field(
                "Idempotency-Key",
                "must be 1 to 200 visible ASCII characters",
            )),
        },
    }
}

/// `POST /v1/accounts/{accountId}/events`: 202 once the event and its deliveries are durable.
pub async fn ingest(app: &App, call: &mut Call, account_id: &str) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let header_key = header_idempotency_key(call)?;
    let body = call
        .raw_json_body(app, app.config.limits.max_event_bytes)
        .await?;
    let event = parse_event(&body, header_key.as_deref())?;
    let mut results = app
        .store
        .ingest(
            account_id.clone(),
            vec![event],
            FanOut::Subscribers,
            now_millis(),
        )
        .await?;
    let ingested = results
        .pop()
        .ok_or_else(|| Error::Internal("ingest returned no result".into()))??;
    if !ingested.replayed {
        app.metrics.events_ingested(1);
    }
    app.metrics.filter_errors(ingested.filter_errors);
    let (status, replayed) = if ingested.replayed {
        (StatusCode::OK, true)
    } else {
        (StatusCode::ACCEPTED, false)
    };
    let mut response = respond::json(status, &IngestView::from(&ingested));
    if replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// `POST /v1/accounts/{accountId}/events/batch`: valid events are committed in one
/// transaction; each item answers for itself.
pub async fn ingest_batch(app: &App, call: &mut Call, account_id: &str) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let body = call
        .raw_json_body(app, app.config.limits.max_body_bytes)
        .await?;
    let mut fields = Fields::parse(&body)?;
    let events: Option<Vec<&RawValue>> = match fields.raw("events") {
        None => {
            fields.missing("events");
            None
        }
        // The events stay raw: each is read by `parse_event` like a single ingest.
        Some(raw) => match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
            Ok(events) => Some(events),
            Err(_) => {
                fields.error("events", "must be an array of event objects");
                None
            }
        },
    };
    let events = fields.finish_with(events)?;
    if events.len() > MAX_BATCH_EVENTS {
        return Err(Error::field(
            "events",
            format!("must have at most {MAX_BATCH_EVENTS} entries"),
        ));
    }
    let instance = call.parts.uri.path().to_string();
    let limit = app.config.limits.max_event_bytes;
    let mut slots: Vec<Result<usize, Error>> = Vec::with_capacity(events.len());
    let mut valid = Vec::new();
    for raw in &events {
        let parsed = if raw.get().len() > limit {
            Err(Error::PayloadTooLarge { limit })
        } else {
            parse_event(raw.get().as_bytes(), None)
        };
        slots.push(parsed.map(|event| {
            valid.push(event);
            valid.len() - 1
        }));
    }
    let mut results = if valid.is_empty() {
        Vec::new()
    } else {
        app.store
            .ingest(account_id.clone(), valid, FanOut::Subscribers, now_millis())
            .await?
    };
    app.metrics
        .events_ingested(results.iter().flatten().filter(|i| !i.replayed).count() as u64);
    app.metrics
        .filter_errors(results.iter().flatten().map(|i| i.filter_errors).sum());
    let items: Vec<serde_json::Value> = slots
        .into_iter()
        .map(|slot| {
            let outcome = slot.and_then(|i| {
                std::mem::replace(&mut results[i], Err(Error::Internal("taken".into())))
            });
            match outcome {
                Ok(ingested) => serde_json::to_value(IngestView::from(&ingested))
                    .unwrap_or(serde_json::Value::Null),
                Err(e) => respond::problem_value(&e, &instance),
            }
        })
        .collect();
    Ok(respond::json(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "items": items }),
    ))
}

/// Renders an event to raw JSON: `data` goes out byte-for-byte as it came in (a detour
/// through `serde_json::Value` would round numbers and reorder keys).
fn event_view(
    event: &StoredEvent,
    deliveries: Option<Vec<DeliverySummary>>,
) -> Result<Box<RawValue>, Error> {
    let data: &RawValue = serde_json::from_slice(event.data())
        .map_err(|e| Error::Corrupt(format!("stored event data is not JSON: {e}")))?;
    serde_json::value::to_raw_value(&EventView {
        id: event.id,
        event_type: &event.meta.event_type,
        created_date: format_rfc3339(event.meta.created),
        data,
        idempotency_key: event.meta.idempotency_key.as_deref(),
        deliveries,
    })
    .map_err(|e| Error::Internal(format!("cannot render event: {e}")))
}

/// `GET /v1/accounts/{accountId}/events/{eventId}`.
pub async fn get(
    app: &App,
    call: &Call,
    account_id: &str,
    event_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let not_found = || Error::NotFound(format!("event {event_id}"));
    let id = EventId::parse(event_id).ok_or_else(not_found)?;
    let event = app
        .store
        .event(account_id, id)
        .await?
        .ok_or_else(not_found)?;
    let ids = event.meta.deliveries.iter().map(|(d, _)| *d).collect();
    let deliveries = app
        .store
        .deliveries_by_id(account_id, ids)
        .await?
        .into_iter()
        .map(|(id, d)| DeliverySummary {
            id,
            webhook_id: d.webhook_id,
            status: d.status.as_str(),
            next_attempt_date: d.next_attempt.map(format_rfc3339),
            attempt_count: d.attempt_count,
        })
        .collect();
    let view = event_view(&event, Some(deliveries))?;
    Ok(respond::json(StatusCode::OK, &view))
}

/// `GET /v1/accounts/{accountId}/events?type=`: newest first.
pub async fn list(app: &App, call: &Call, account_id: &str) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let query = call.query()?;
    let paging = query.paging(app.store.signing_key(), CursorKind::Events)?;
    let event_type = query.get("type").map(str::to_string);
    if let Some(t) = &event_type
        && let Err(message) = patterns::check_event_type(t)
    {
        return Err(Error::field("type", message));
    }
    let (events, next) = app
        .store
        .list_events(account_id, paging.after()?, paging.limit, event_type)
        .await?;
    let items = events
        .iter()
        .map(|e| event_view(e, None))
        .collect::<Result<Vec<_>, _>>()?;
    let next = next_cursor(app.store.signing_key(), CursorKind::Events, next);
    Ok(list_response(items, next))
}
