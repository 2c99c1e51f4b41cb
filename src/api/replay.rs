//! `POST /v1/accounts/{accountId}/webhooks/{webhookId}/replay`: a webhook's finished
//! deliveries of a time range sent again.

use hyper::StatusCode;
use serde_json::{Value, json};

use super::input::Fields;
use super::respond::{self, Response};
use super::{App, Call};
use crate::error::Error;
use crate::records::DeliveryStatus;
use crate::store::ReplayRange;
use crate::store::rules::REPLAYABLE;
use crate::time::{Millis, now_millis};

/// Sends again every stored delivery of the webhook created in `[since, until)` whose status
/// is in `status` (default `["failed"]`): a fresh attempt series each, oldest first. 202
/// `{"scheduled": n}`.
pub async fn replay(
    app: &App,
    call: &mut Call,
    account_id: &str,
    webhook_id: &str,
) -> Result<Response, Error> {
    let account_id = &call.principal.require_account(&app.store, account_id)?;
    let webhook_id = super::webhook_id(webhook_id)?;
    app.store.webhook(account_id, webhook_id)?;
    let body = call.json_body(app, false).await?;
    let now = now_millis();
    let retention = app.config.retention.events.as_millis() as Millis;
    let range = read_range(&body, now, retention)?;
    if range.since >= range.until {
        return Ok(scheduled(0));
    }
    let count = app
        .store
        .replay(account_id.clone(), webhook_id, range)
        .await?;
    Ok(scheduled(count))
}

fn scheduled(count: usize) -> Response {
    respond::json(StatusCode::ACCEPTED, &json!({ "scheduled": count }))
}

/// Reads and checks the body: `since` required, not in the future, not before the retention
/// window, not after `until`; `until` defaults to now (and a later one means now: nothing
/// newer exists); `status` a non-empty list of finished statuses.
fn read_range(body: &[u8], now: Millis, retention: Millis) -> Result<ReplayRange, Error> {
    let mut fields = Fields::parse(body)?;
    let since = fields.optional_time("since");
    if since.is_none() {
        fields.missing("since");
    }
    let until = fields.optional_time("until");
    let statuses = match fields.take("status") {
        None => Some(vec![DeliveryStatus::Failed]),
        Some(value) => {
            let statuses = replayable_statuses(&value);
            if statuses.is_none() {
                fields.error(
                    "status",
                    "must be a non-empty list of failed, expired, succeeded or cancelled",
                );
            }
            statuses
        }
    };
    if let Some(since) = since {
        if since > now {
            fields.error("since", "is in the future");
        } else if since < now - retention {
            fields.error(
                "since",
                "is older than the retention window (retention.events)",
            );
        } else if until.is_some_and(|until| since > until) {
            fields.error("since", "is after until");
        }
    }
    let range = since.zip(statuses).map(|(since, statuses)| ReplayRange {
        since,
        until: until.unwrap_or(now).min(now),
        statuses,
        now,
    });
    fields.finish_with(range)
}

fn replayable_statuses(value: &Value) -> Option<Vec<DeliveryStatus>> {
    let list = value.as_array().filter(|l| !l.is_empty())?;
    let mut statuses = Vec::with_capacity(list.len());
    for item in list {
        let status = item
            .as_str()
            .and_then(DeliveryStatus::parse)
            .filter(|s| REPLAYABLE.contains(s))?;
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    Some(statuses)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Millis = 1_800_000_000_000;
    const DAY: Millis = 86_400_000;

    fn fields_named(body: &str) -> Vec<String> {
        match read_range(body.as_bytes(), NOW, 5 * DAY) {
            Err(Error::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn defaults_and_bounds() {
        let since = crate::time::format_rfc3339(NOW - DAY);
        let range =
            read_range(format!(r#"{{"since":"{since}"}}"#).as_bytes(), NOW, 5 * DAY).unwrap();
        assert_eq!(
            (range.since, range.until, range.statuses),
            (NOW - DAY, NOW, vec![DeliveryStatus::Failed])
        );
        let later = crate::time::format_rfc3339(NOW + DAY);
        let body = format!(
            r#"{{"since":"{since}","until":"{later}","status":["succeeded","failed","failed"]}}"#
        );
        let range = read_range(body.as_bytes(), NOW, 5 * DAY).unwrap();
        assert_eq!(range.until, NOW, "nothing newer than now exists");
        assert_eq!(
            range.statuses,
            vec![DeliveryStatus::Succeeded, DeliveryStatus::Failed]
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let old = crate::time::format_rfc3339(NOW - 6 * DAY);
        let future = crate::time::format_rfc3339(NOW + 1000);
        let since = crate::time::format_rfc3339(NOW - DAY);
        let before = crate::time::format_rfc3339(NOW - 2 * DAY);
        assert_eq!(fields_named("{}"), ["since"]);
        assert_eq!(fields_named(r#"{"since":"yesterday"}"#), ["since"]);
        assert_eq!(fields_named(&format!(r#"{{"since":"{old}"}}"#)), ["since"]);
        assert_eq!(
            fields_named(&format!(r#"{{"since":"{future}"}}"#)),
            ["since"]
        );
        assert_eq!(
            fields_named(&format!(r#"{{"since":"{since}","until":"{before}"}}"#)),
            ["since"]
        );
        for status in [
            r#"[]"#,
            r#"["pending"]"#,
            r#"["buffered"]"#,
            r#""failed""#,
            "[1]",
        ] {
            assert_eq!(
                fields_named(&format!(r#"{{"since":"{since}","status":{status}}}"#)),
                ["status"],
                "{status}"
            );
        }
        assert_eq!(
            fields_named(&format!(r#"{{"since":"{since}","until":12}}"#)),
            ["until"]
        );
    }
}
