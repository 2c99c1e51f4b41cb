//! `hookd::inputs::template` (and `hookd::inputs::json`): parse arbitrary body
//! templates and render those accepted for an event.
//!
//! Input layout: lossy UTF-8, split at the first NUL into the template and the event's data
//! (no NUL: a fixed data object). Byte 0's lowest bit picks the content type: clear is
//! `application/json` (the default), set is `text/plain`.
//!
//! Invariants: never panics; a rendered body is at most the byte limit given; with the JSON
//! content type it is valid JSON; the data reader accepts what `serde_json` accepts.
#![no_main]

use hookd::inputs::json;
use hookd::inputs::template::{EventView, Template};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

const MAX_BYTES: usize = 64 * 1024;
const DATA: &str = r#"{"name": "Ann \"A\" <b>", "n": 3, "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}], "big": 123456789012345678901234567890, "f": 0.1, "none": null}"#;

fuzz_target!(|input: &[u8]| {
    let json_type = input.first().is_none_or(|b| b & 1 == 0);
    let text = String::from_utf8_lossy(input);
    let (body, data) = text.split_once('\0').unwrap_or((&text, DATA));
    if serde_json::from_str::<serde_json::Value>(data).is_ok() {
        assert!(json::parse(data).is_ok(), "serde_json accepts {data:?}");
    }
    let content_type = if json_type { None } else { Some("text/plain") };
    for template in [
        Template::parse(body, content_type),
        Template::preset("slack"),
    ] {
        let Ok(template) = template else {
            continue;
        };
        let event = EventView {
            id: "evt_1",
            event_type: "booking.created",
            timestamp: "2026-01-02T03:04:05.678Z",
            account: "acc_1",
            data: data.as_bytes(),
        };
        if let Ok(rendered) = template.render(&event, MAX_BYTES) {
            assert!(rendered.bytes.len() <= MAX_BYTES);
            if rendered.content_type == "application/json" {
                assert!(serde_json::from_slice::<&RawValue>(&rendered.bytes).is_ok());
            }
        }
    }
});
