//! What an account holder reads, in the account's language (account-holders.md, "Languages"):
//! the deactivation notification's `message` and the one-click activation pages, driven
//! through real deactivations against real failing receivers.

use std::time::Duration;

use crate::common::receiver::{Receiver, Reply};
use crate::common::*;
use hookd::i18n::{self, Lang};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const FAST_RETRIES: &str =
    "[delivery]\nretry_schedule = [\"100ms\", \"100ms\", \"100ms\", \"100ms\"]\n";

fn account_in(server: &Server, name: &str, language: &str) -> String {
    let r = server.post(
        "/v1/accounts",
        ADMIN,
        &json!({"name": name, "language": language}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(r.json["language"], language);
    r.json["id"].as_str().unwrap().to_string()
}

fn webhook(server: &Server, account: &str, name: &str, url: &str) -> String {
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": name, "eventUrl": url, "eventList": ["booking.*"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

fn send(server: &Server, account: &str) {
    let r = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": "booking.created", "data": {"room": 12}}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
}

fn wait_deactivated(server: &Server, account: &str, id: &str) -> Value {
    eventually(WAIT, || {
        let w = server
            .get(&format!("/v1/accounts/{account}/webhooks/{id}"), ADMIN)
            .json;
        (w["status"] == "deactivated").then_some(w)
    })
}

/// The account's only notification.
fn notification(server: &Server, account: &str) -> Value {
    let r = server.get(&format!("/v1/accounts/{account}/notifications"), ADMIN);
    assert_eq!(r.status, 200, "{}", r.text);
    let items = r.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", r.text);
    items[0].clone()
}

/// The path of an activation URL, to request from the test server.
fn link_path(url: &str) -> String {
    url[url.find("/activate/").expect("an activation URL")..].to_string()
}

#[test]
fn the_deactivation_message_is_in_the_account_s_language() {
    let server = Server::start_with(
        &format!("{FAST_RETRIES}[deactivation]\nafter_failures = 2\nafter = \"0s\"\n"),
        &[],
    );
    let failing = Receiver::start(|_, _| Reply::status(500));
    let german = account_in(&server, "Praxis Süd", "de");
    let english = server.create_account("Clinic North");
    let german_hook = webhook(&server, &german, "Termine", &failing.url);
    let english_hook = webhook(&server, &english, "Bookings", &failing.url);
    send(&server, &german);
    send(&server, &english);
    let w = wait_deactivated(&server, &german, &german_hook);
    wait_deactivated(&server, &english, &english_hook);

    // The sentences in German; the webhook's name and URL, the receiver's status line and the
    // link as they are; dates written the German way.
    let since = i18n::long_date_of(Lang::De, w["failingSince"].as_str().unwrap()).unwrap();
    let message = notification(&server, &german)["message"]
        .as_str()
        .unwrap()
        .to_string();
    let expected_start = format!(
        "Der Webhook „Termine“ ({}) wurde deaktiviert: 2 fehlgeschlagene Zustellversuche in \
         Folge seit dem {since}; letzter Fehler: HTTP 500 Internal Server Error. Seine \
         Ereignisse werden bis zum ",
        failing.url
    );
    assert!(message.starts_with(&expected_start), "{message}");
    assert!(message.ends_with(" UTC zwischengespeichert."), "{message}");
    assert!(
        [
            "Januar",
            "Februar",
            "März",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember"
        ]
        .iter()
        .any(|month| message[expected_start.len()..].contains(month)),
        "a German date: {message}"
    );
    // The webhook's own reason stays the API's English.
    assert!(
        w["deactivationReason"]
            .as_str()
            .unwrap()
            .starts_with("2 failed attempts in a row since"),
        "{w}"
    );

    // An account left at the default reads English.
    let message = notification(&server, &english)["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with(&format!(
            "The webhook “Bookings” ({}) was deactivated: 2 failed attempts in a row since ",
            failing.url
        )),
        "{message}"
    );
    assert!(
        message.contains(
            "; last error: HTTP 500 Internal Server Error. Its events are buffered until "
        ),
        "{message}"
    );
}

#[test]
fn activation_pages_speak_the_account_s_language_or_the_one_asked_for() {
    let server = Server::start_with(FAST_RETRIES, &[]);
    // Gone (410) at first, which deactivates at once; fine afterwards.
    let receiver = Receiver::start(|n, _| {
        if n == 0 {
            Reply::status(410)
        } else {
            Reply::ok()
        }
    });
    let account = account_in(&server, "Hotel Nord", "de");
    let id = webhook(&server, &account, "Buchungen <b>", &receiver.url);
    send(&server, &account);
    let w = wait_deactivated(&server, &account, &id);
    send(&server, &account); // buffered at once: two are held back now
    let path = link_path(
        notification(&server, &account)["activationUrl"]
            .as_str()
            .unwrap(),
    );
    let deactivated = w["deactivatedDate"].as_str().unwrap();

    // The account's language: German.
    let page = request("GET", &server.url(&path), None, None);
    assert_eq!(page.status, 200, "{}", page.text);
    assert_eq!(page.header("content-language"), Some("de"));
    assert!(page.text.contains("<html lang=\"de\">"), "{}", page.text);
    for phrase in [
        "<title>Webhook reaktivieren – hookd</title>",
        "<h1>Webhook reaktivieren</h1>",
        "<dt>Name</dt><dd>Buchungen &lt;b&gt;</dd>",
        "<dt>Deaktiviert am</dt>",
        &format!(
            "<dd>{}</dd>",
            i18n::long_date_of(Lang::De, deactivated).unwrap()
        ),
        "<dt>Grund</dt><dd>der Endpunkt hat mit 410 Gone geantwortet</dd>",
        "<dt>Zwischengespeicherte Ereignisse</dt><dd>2</dd>",
        "Reaktivieren und die 2 zwischengespeicherten Ereignisse zustellen",
        "Reaktivieren und die 2 zwischengespeicherten Ereignisse verwerfen",
    ] {
        assert!(page.text.contains(phrase), "{phrase} in {}", page.text);
    }
    assert!(!page.text.contains("Reactivate"), "{}", page.text);

    // `?lang=` one of the five wins; any other value is ignored.
    let portuguese = request("GET", &server.url(&format!("{path}?lang=pt")), None, None);
    assert_eq!(portuguese.status, 200);
    assert!(portuguese.text.contains("<html lang=\"pt\">"));
    for phrase in [
        "<h1>Reativar webhook</h1>",
        "<dt>Nome</dt>",
        "<dt>Desativado em</dt>",
        &format!(
            "<dd>{}</dd>",
            i18n::long_date_of(Lang::Pt, deactivated).unwrap()
        ),
        "<dt>Motivo</dt><dd>o URL de destino respondeu 410 Gone</dd>",
        "<dt>Eventos retidos</dt>",
        "Reativar e entregar os 2 eventos retidos",
        "Reativar e descartar os 2 eventos retidos",
    ] {
        assert!(
            portuguese.text.contains(phrase),
            "{phrase} in {}",
            portuguese.text
        );
    }
    assert!(
        i18n::long_date_of(Lang::Pt, deactivated)
            .unwrap()
            .contains(" de 20"),
        "a Portuguese date"
    );
    for ignored in ["xx", "EN", "pt-BR", "", "en%20"] {
        let page = request(
            "GET",
            &server.url(&format!("{path}?lang={ignored}")),
            None,
            None,
        );
        assert_eq!(page.status, 200);
        assert!(
            page.text.contains("<html lang=\"de\">")
                && page.text.contains("<h1>Webhook reaktivieren</h1>"),
            "?lang={ignored}: {}",
            page.text
        );
    }
    // The browser's language does not override the account's.
    let page = request_with(
        "GET",
        &server.url(&path),
        None,
        None,
        &[("accept-language", "da")],
    );
    assert!(page.text.contains("<html lang=\"de\">"));

    // A forged link leads to no account: `?lang=`, else the browser's language, else English.
    let mut forged = path.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let english = request("GET", &server.url(&forged), None, None);
    assert_eq!(english.status, 404);
    assert!(english.text.contains("<html lang=\"en\">"));
    assert!(english.text.contains("<h1>Link not valid</h1>"));
    let browser = request_with(
        "GET",
        &server.url(&forged),
        None,
        None,
        &[("accept-language", "fr-FR, pt-BR;q=0.8, en;q=0.5")],
    );
    assert_eq!(browser.status, 404);
    assert!(browser.text.contains("<html lang=\"pt\">"));
    assert!(
        browser.text.contains("<h1>Ligação inválida</h1>"),
        "{}",
        browser.text
    );
    let asked = request_with(
        "GET",
        &server.url(&format!("{forged}?lang=nb")),
        None,
        None,
        &[("accept-language", "pt")],
    );
    assert!(
        asked.text.contains("<h1>Lenken er ugyldig</h1>"),
        "{}",
        asked.text
    );

    // The answer to the click, in the page's language (the form posts to the URL it came
    // from, `?lang=` included).
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let done = request_with(
        "POST",
        &server.url(&format!("{path}?lang=pt")),
        None,
        Some(b"replayEvents=true"),
        &form,
    );
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(done.text.contains("<html lang=\"pt\">"));
    assert!(done.text.contains("<h1>Webhook reativado</h1>"));
    assert!(
        done.text.contains(
            "O webhook «Buchungen &lt;b&gt;» está novamente ativo. Os 2 eventos retidos vão ser \
             entregues, do mais antigo para o mais recente."
        ),
        "{}",
        done.text
    );
    receiver.wait_for(3, WAIT);

    // Used: gone, still in the account's language (its webhook is known).
    let used = request("GET", &server.url(&path), None, None);
    assert_eq!(used.status, 410);
    assert!(used.text.contains("<html lang=\"de\">"));
    assert!(
        used.text.contains("<h1>Link nicht mehr gültig</h1>"),
        "{}",
        used.text
    );
}
