//! The account holder's side of the admin page in headless Chromium: portal links (made in the
//! admin view, opened in a fresh browser with no token), read-only portal sessions, the health
//! chart, replay since a time, and activation with buffered deliveries. Uses the browser
//! helpers of the parent module.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::common::{eventually, time_millis};

/// Retries every 100 ms, once, and never deactivates for failures: a failing delivery becomes
/// `failed` within a fraction of a second and stays so.
const QUICK_FAILURES: &str =
    "[delivery]\nretry_schedule = [\"100ms\"]\n[deactivation]\nafter_failures = 1000\n";

fn webhook(server: &Server, account: &str, name: &str, url: &str, events: &[&str]) -> String {
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": name, "eventUrl": url, "eventList": events}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    r.json["id"].as_str().unwrap().to_string()
}

fn send(server: &Server, account: &str, event_type: &str, times: usize) {
    for n in 0..times {
        let r = server.post(
            &format!("/v1/accounts/{account}/events"),
            ADMIN,
            &json!({"type": event_type, "data": {"n": n}}),
        );
        assert_eq!(r.status, 202, "{}", r.text);
    }
}

/// The deliveries of one webhook with `status`.
fn deliveries(server: &Server, account: &str, hook: &str, status: &str) -> Vec<Value> {
    let r = server.get(
        &format!("/v1/accounts/{account}/webhooks/{hook}/deliveries?status={status}&limit=200"),
        ADMIN,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json["items"].as_array().unwrap().clone()
}

/// Waits until the account has `total` deliveries and none is on its way.
fn settled(server: &Server, account: &str, total: usize) {
    eventually(WAIT, || {
        let all = server.get(
            &format!("/v1/accounts/{account}/deliveries?limit=200"),
            ADMIN,
        );
        let items = all.json["items"].as_array()?;
        (items.len() == total && items.iter().all(|d| d["status"] != "pending")).then_some(())
    });
}

fn stats(server: &Server, account: &str, hook: &str) -> Value {
    let r = server.get(
        &format!("/v1/accounts/{account}/webhooks/{hook}/stats?window=24h"),
        ADMIN,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.json
}

/// A portal link made through the API: (its id, its URL).
fn portal_link(server: &Server, account: &str, read_only: bool) -> (String, String) {
    let r = server.post(
        &format!("/v1/accounts/{account}/portal-links"),
        ADMIN,
        &json!({"readOnly": read_only}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    (
        r.json["id"].as_str().unwrap().to_string(),
        r.json["url"].as_str().unwrap().to_string(),
    )
}

/// Signs in with the admin token and opens `account`, whatever the page's language.
fn open_as_admin(b: &Browser, server: &Server, account: &str) {
    b.goto(&server.url("/"));
    b.fill("//input[@id='token']", ADMIN);
    b.click("//form[@id='sign-in-form']//button[@type='submit']");
    b.click(&format!(
        "//select[@id='account-select']/option[@value='{account}']"
    ));
    b.click("//form[@id='account-pick-form']//button[@type='submit']");
    b.wait_displayed("//section[@id='webhooks']");
}

/// The texts of the buttons in the Actions menu of the webhook `name`.
fn menu_buttons(b: &Browser, name: &str) -> Vec<String> {
    let texts = b.exec_with(
        "const tr = [...document.querySelectorAll('#webhook-rows tr')]
           .find(tr => tr.cells[0].textContent === arguments[0]);
         return [...tr.querySelectorAll('.menu button')].map(button => button.textContent);",
        json!(name),
    );
    serde_json::from_value(texts).unwrap()
}

/// What the health cell of the webhook `name` shows, once it shows a chart: its bars as
/// `[class, height, count]`, the chart's `<title>` and aria-label, and the figures beside it.
fn chart(b: &Browser, name: &str) -> Value {
    b.wait(&format!("the health chart of {name}"), |b| {
        let shown = b.exec_with(
            "const tr = [...document.querySelectorAll('#webhook-rows tr')]
               .find(tr => tr.cells[0].textContent === arguments[0]);
             const svg = tr && tr.querySelector('td.health svg');
             if (!svg) return null;
             return {
               bars: [...svg.querySelectorAll('rect.bar-ok, rect.bar-bad')].map(r =>
                 [r.getAttribute('class'), Number(r.getAttribute('height')), Number(r.dataset.count)]),
               title: svg.querySelector('title').textContent,
               label: svg.getAttribute('aria-label'),
               figures: [...tr.querySelectorAll('.health-figures > *')].map(f => f.textContent),
             };",
            json!(name),
        );
        (!shown.is_null()).then_some(shown)
    })
}

/// A success rate as the page writes it in English (`Intl` percent, at most one decimal).
fn percent_en(rate: f64) -> String {
    format!("{}%", (rate * 1000.0).round() / 10.0)
}

/// Checks the chart against the API's stats: one bar per hour and outcome with attempts, as
/// tall as its share of the busiest hour, with the success rate and p95 latency beside it.
fn assert_chart_matches(shown: &Value, stats: &Value) {
    let bars = shown["bars"].as_array().unwrap();
    let sum = |class: &str| -> u64 {
        bars.iter()
            .filter(|bar| bar[0] == class)
            .map(|bar| bar[2].as_u64().unwrap())
            .sum()
    };
    assert_eq!(
        sum("bar-ok"),
        stats["succeeded"].as_u64().unwrap(),
        "{shown}"
    );
    assert_eq!(sum("bar-bad"), stats["failed"].as_u64().unwrap(), "{shown}");
    assert!(
        bars.iter()
            .all(|bar| bar[1].as_f64().unwrap() >= 1.0 && bar[2].as_u64().unwrap() > 0),
        "only hours with attempts have bars, each visible: {shown}"
    );
    // The busiest hour fills the chart's 28 pixels, so the bars together are at least as tall.
    let tallest: f64 = bars.iter().map(|bar| bar[1].as_f64().unwrap()).sum();
    assert!(tallest >= 28.0, "{shown}");
    let attempts = stats["attempts"].as_u64().unwrap();
    let summary = format!(
        "Last 24 hours: {attempts} attempt{}, {} succeeded, {} failed",
        if attempts == 1 { "" } else { "s" },
        stats["succeeded"],
        stats["failed"]
    );
    assert_eq!(shown["title"], summary);
    assert_eq!(shown["label"], summary);
    assert_eq!(
        shown["figures"],
        json!([
            format!(
                "{} succeeded",
                percent_en(stats["successRate"].as_f64().unwrap())
            ),
            format!("p95 {} ms", stats["latencyMs"]["p95"]),
        ])
    );
}

/// Writes a screenshot to docs/ when HOOKD_WRITE_SCREENSHOT=1 (as the admin page test does).
fn write_screenshot(b: &Browser, file: &str) {
    if std::env::var("HOOKD_WRITE_SCREENSHOT").as_deref() == Ok("1") {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("docs")
            .join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b.screenshot()).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

#[test]
fn portal_link_opens_one_account_in_a_fresh_browser_until_revoked() {
    let server = Server::start_with(QUICK_FAILURES, &[]);
    // Every third request fails (its retry then succeeds); the invoice endpoint always fails.
    let bookings_receiver = Receiver::start(|n, _| {
        if n % 3 == 0 {
            Reply::status(500)
        } else {
            Reply::ok().after(Duration::from_millis(20))
        }
    });
    let failing = Receiver::start(|_, _| Reply::status(503));
    let account = server.create_account("Clinic Nord");
    let bookings = webhook(
        &server,
        &account,
        "Bookings",
        &bookings_receiver.url,
        &["booking.*"],
    );
    webhook(&server, &account, "Invoices", &failing.url, &["invoice.*"]);
    let other = server.create_account("Hotel Süd");
    webhook(
        &server,
        &other,
        "Rooms",
        &bookings_receiver.url,
        &["room.*"],
    );
    send(&server, &account, "booking.created", 6);
    send(&server, &account, "invoice.created", 2);
    settled(&server, &account, 8);

    // The admin makes a link for a day through the page and copies it.
    let admin = Browser::start();
    open_as_admin(&admin, &server, &account);
    admin.wait_text(
        "//button[@id='portal-link']",
        "the account's portal link action",
        |t| t == "Portal link for Clinic Nord",
    );
    admin.click("//button[@id='portal-link']");
    admin.click("//select[@id='pl-expires']/option[@value='1d']");
    admin.click("//form[contains(@class,'portal-link-form')]//button[.='Create link']");
    let url = admin.wait("the new link", |b| {
        b.value_of("//input[@id='pl-url']")
            .ok()
            .filter(|v| !v.is_empty())
    });
    assert!(
        url.starts_with(&format!("{}/portal/", server.base)),
        "{url}"
    );
    assert_eq!(
        admin.exec("return document.getElementById('pl-url').readOnly"),
        json!(true)
    );
    let links = server.get(&format!("/v1/accounts/{account}/portal-links"), ADMIN);
    let link = &links.json["items"][0];
    assert_eq!(links.json["items"].as_array().unwrap().len(), 1);
    assert_eq!(link["readOnly"], false);
    assert_eq!(
        time_millis(&link["expiresDate"]) - time_millis(&link["createdDate"]),
        86_400_000,
        "valid for the day chosen"
    );
    let link_id = link["id"].as_str().unwrap().to_string();
    // Copy: to the clipboard where the browser allows it, else the link is selected to copy.
    for permission in ["clipboard-read", "clipboard-write"] {
        let _ = admin.cmd(
            "POST",
            "/permissions",
            Some(json!({"descriptor": {"name": permission}, "state": "granted"})),
        );
    }
    admin.click("//button[@id='pl-copy']");
    let status = admin.wait_text(
        "//form[contains(@class,'portal-link-form')]//span[@role='status']",
        "the copy's outcome",
        |t| !t.is_empty(),
    );
    if status == "Copied." {
        let copied = admin
            .cmd(
                "POST",
                "/execute/async",
                Some(json!({
                    "script": "navigator.clipboard.readText().then(arguments[0], e => arguments[0]('error: ' + e))",
                    "args": [],
                })),
            )
            .unwrap();
        assert_eq!(copied, json!(url));
    } else {
        assert_eq!(
            status,
            "The link is selected: copy it with Ctrl+C (⌘C on a Mac)."
        );
        assert_eq!(
            admin.exec("return window.getSelection().toString() || (document.activeElement.id === 'pl-url' && document.activeElement.value.slice(document.activeElement.selectionStart, document.activeElement.selectionEnd))"),
            json!(url)
        );
    }
    drop(admin);

    // A fresh browser: no token entered, only this account.
    let b = Browser::start();
    b.goto(&url);
    b.wait_text("//h2[@id='webhooks-title']", "the account", |t| {
        t == "Webhooks of Clinic Nord"
    });
    b.wait_displayed(&row("Bookings"));
    b.wait_displayed(&row("Invoices"));
    assert!(b.find(&row("Rooms")).is_err(), "another account's webhook");
    for hidden in [
        "//section[@id='sign-in']",
        "//input[@id='token']",
        "//section[@id='account']",
        "//select[@id='account-select']",
        "//button[@id='sign-out']",
        "//button[@id='portal-link']",
    ] {
        assert!(!b.displayed(hidden), "{hidden} is shown in the portal");
    }
    let who = b.text_of("//header/p[@id='who']").unwrap();
    assert!(
        who.starts_with("Portal for Clinic Nord · valid until "),
        "{who}"
    );
    assert_eq!(
        b.exec("return document.title"),
        json!("Clinic Nord – hookd")
    );
    // The session token lives in this tab's sessionStorage only, and is never shown.
    let storage = b.exec(
        "return {session: Object.entries(sessionStorage), local: Object.entries(localStorage), \
         cookie: document.cookie, text: document.body.innerText, \
         inputs: [...document.querySelectorAll('input')].map(i => i.value)}",
    );
    let session = storage["session"].as_array().unwrap();
    assert_eq!(session.len(), 1, "{storage}");
    let token = session[0][1].as_str().unwrap();
    assert!(token.starts_with("hkp_"), "{storage}");
    assert_eq!(storage["cookie"], "");
    let link_token = url.rsplit('/').next().unwrap();
    for kept in [&storage["local"], &storage["text"], &storage["inputs"]] {
        let kept = kept.to_string();
        assert!(
            !kept.contains("hkp_") && !kept.contains("hkd_") && !kept.contains(link_token),
            "a token where it does not belong: {kept}"
        );
    }
    // A full link: the account holder may change things.
    assert!(b.displayed("//button[@id='create-webhook']"));
    assert_eq!(
        menu_buttons(&b, "Bookings"),
        [
            "Update",
            "Remove",
            "Send test event",
            "Resend failed deliveries since …",
            "Delivery log"
        ]
    );

    // The health chart of the last 24 hours, as the API counts it.
    assert_chart_matches(&chart(&b, "Bookings"), &stats(&server, &account, &bookings));
    let invoices = chart(&b, "Invoices");
    assert_eq!(invoices["figures"][0], "0% succeeded");
    assert!(
        invoices["bars"]
            .as_array()
            .unwrap()
            .iter()
            .all(|bar| bar[0] == "bar-bad"),
        "{invoices}"
    );
    write_screenshot(&b, "portal.png");

    // The person's pick of language works in the portal too, and is remembered.
    switch_language(&b, Lang::De);
    assert_eq!(
        b.text_of("//h2[@id='webhooks-title']").unwrap(),
        "Webhooks von Clinic Nord"
    );
    let who = b.text_of("//header/p[@id='who']").unwrap();
    assert!(
        who.starts_with("Portal für Clinic Nord · gültig bis zum "),
        "{who}"
    );
    assert_eq!(chart(&b, "Invoices")["figures"][0], "0\u{a0}% erfolgreich");
    b.goto(&url);
    wait_language(&b, Lang::De);
    b.wait_displayed(&row("Bookings"));
    assert_eq!(
        b.exec("return localStorage.getItem('hookd.language')"),
        json!("de")
    );

    // Revoked: the next action shows that the link no longer works, not a sign-in.
    let r = server.delete(
        &format!("/v1/accounts/{account}/portal-links/{link_id}"),
        ADMIN,
    );
    assert_eq!(r.status, 204, "{}", r.text);
    b.click("//button[@id='reload-webhooks']");
    b.wait_text(
        "//section[@id='portal-ended']/h2",
        "the ended portal",
        |t| t == "Dieser Portal-Link funktioniert nicht mehr",
    );
    assert!(!b.displayed("//section[@id='webhooks']"));
    assert!(!b.displayed("//section[@id='sign-in']"));
    assert!(!b.displayed("//div[@id='error']"));
    assert_eq!(b.exec("return sessionStorage.length"), json!(0));

    // Opening the revoked link again: hookd's page saying so, with 410.
    b.goto(&url);
    b.wait_text("//h1", "the revoked link's page", |t| t == "Link revoked");
    let page = crate::common::request("GET", &url, None, None);
    assert_eq!(page.status, 410);
}

#[test]
fn read_only_portal_shows_webhooks_logs_and_health_but_offers_no_change() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let gone = Receiver::start(|_, _| Reply::status(410));
    let account = server.create_account("Praxis Süd");
    let bookings = webhook(&server, &account, "Bookings", &receiver.url, &["booking.*"]);
    let legacy = webhook(&server, &account, "Legacy CRM", &gone.url, &["booking.*"]);
    send(&server, &account, "booking.created", 1);
    eventually(WAIT, || {
        let w = server.get(&format!("/v1/accounts/{account}/webhooks/{legacy}"), ADMIN);
        (w.json["status"] == "deactivated").then_some(())
    });
    send(&server, &account, "booking.created", 1);
    settled(&server, &account, 4);
    assert_eq!(deliveries(&server, &account, &legacy, "buffered").len(), 2);
    let (_, url) = portal_link(&server, &account, true);

    let b = Browser::start();
    b.goto(&url);
    b.wait_displayed(&row("Bookings"));
    let who = b.text_of("//header/p[@id='who']").unwrap();
    assert!(
        who.starts_with("Portal for Praxis Süd · read only · valid until "),
        "{who}"
    );
    assert!(!b.displayed("//button[@id='create-webhook']"));
    // Only the delivery log is offered: no update, removal, test, replay or activation.
    assert_eq!(menu_buttons(&b, "Bookings"), ["Delivery log"]);
    assert_eq!(menu_buttons(&b, "Legacy CRM"), ["Delivery log"]);
    b.wait_text(
        &format!("{}/td[4]", row("Legacy CRM")),
        "the buffered count",
        |t| t.contains("2 buffered events"),
    );
    assert!(b.find(&format!("{}//input", row("Legacy CRM"))).is_err());

    // Health and the delivery log are there to read.
    let shown = chart(&b, "Bookings");
    assert_chart_matches(&shown, &stats(&server, &account, &bookings));
    action(&b, "Bookings", "Delivery log");
    b.wait_text("//div[@id='log-body']", "the delivered events", |t| {
        t.matches("succeeded").count() == 2
    });

    // The webhook secret is neither shown nor asked for.
    let seen = b.exec(
        "return [document.body.innerText, \
         performance.getEntriesByType('resource').map(e => e.name).join(' ')]",
    );
    let (text, requests) = (seen[0].as_str().unwrap(), seen[1].as_str().unwrap());
    assert!(
        !text.to_lowercase().contains("secret") && !text.contains("whsec_"),
        "{text}"
    );
    assert!(!requests.contains("/secret"), "{requests}");
    assert!(requests.contains("/stats?window=24h"), "{requests}");
    assert!(!requests.contains("/portal-links"), "{requests}");
}

#[test]
fn activating_delivers_the_buffered_events_or_drops_them_after_asking() {
    let server = Server::start();
    // Gone (410) once, which deactivates a webhook at once; fine afterwards.
    let gone_once = || {
        Receiver::start(|n, _| {
            if n == 0 {
                Reply::status(410)
            } else {
                Reply::ok()
            }
        })
    };
    let (crm, erp) = (gone_once(), gone_once());
    let account = server.create_account("Clinic Nord");
    let crm_hook = webhook(&server, &account, "Legacy CRM", &crm.url, &["crm.*"]);
    let erp_hook = webhook(&server, &account, "Old ERP", &erp.url, &["erp.*"]);
    send(&server, &account, "crm.updated", 1);
    send(&server, &account, "erp.updated", 1);
    for hook in [&crm_hook, &erp_hook] {
        eventually(WAIT, || {
            let w = server.get(&format!("/v1/accounts/{account}/webhooks/{hook}"), ADMIN);
            (w.json["status"] == "deactivated").then_some(())
        });
    }
    send(&server, &account, "crm.updated", 2);
    send(&server, &account, "erp.updated", 2);
    settled(&server, &account, 6);
    for hook in [&crm_hook, &erp_hook] {
        assert_eq!(deliveries(&server, &account, hook, "buffered").len(), 3);
    }

    let b = Browser::start();
    open_as_admin(&b, &server, &account);
    b.wait_text(
        &format!("{}/td[4]", row("Legacy CRM")),
        "the buffered count",
        |t| t.starts_with("deactivated") && t.ends_with("\n3 buffered events"),
    );

    // Delivering them is chosen by default.
    b.click(&format!("{}//summary", row("Legacy CRM")));
    let choice = format!(
        "{}//label[.='deliver the 3 buffered events']",
        row("Legacy CRM")
    );
    b.wait_displayed(&choice);
    assert_eq!(
        b.exec_with(
            "return document.getElementById('replay-' + arguments[0]).checked",
            json!(crm_hook)
        ),
        json!(true)
    );
    action(&b, "Legacy CRM", "Activate");
    b.wait_text("//div[@id='notice']", "the activation", |t| {
        t == "Activated “Legacy CRM”: 3 buffered events are being delivered."
    });
    assert_eq!(b.alert_text(), None, "no question when delivering");
    crm.wait_for(4, WAIT);
    settled(&server, &account, 6);
    assert_eq!(
        deliveries(&server, &account, &crm_hook, "succeeded").len(),
        3
    );

    // Without them: the page asks first; cancelling changes nothing, OK drops them.
    b.click(&format!("{}//summary", row("Old ERP")));
    let choice = format!(
        "{}//label[.='deliver the 3 buffered events']",
        row("Old ERP")
    );
    b.click(&choice);
    assert_eq!(
        b.exec_with(
            "return document.getElementById('replay-' + arguments[0]).checked",
            json!(erp_hook)
        ),
        json!(false)
    );
    action(&b, "Old ERP", "Activate");
    let question = b.wait("the confirmation", |b| b.alert_text());
    assert_eq!(
        question,
        "Activate “Old ERP” without its buffered events? The 3 events will be dropped."
    );
    b.cmd("POST", "/alert/dismiss", None).unwrap();
    let erp_path = format!("/v1/accounts/{account}/webhooks/{erp_hook}");
    assert_eq!(server.get(&erp_path, ADMIN).json["status"], "deactivated");
    assert_eq!(
        deliveries(&server, &account, &erp_hook, "buffered").len(),
        3
    );

    action(&b, "Old ERP", "Activate");
    b.wait("the confirmation", |b| b.alert_text());
    b.cmd("POST", "/alert/accept", None).unwrap();
    b.wait_text("//div[@id='notice']", "the activation", |t| {
        t == "Activated “Old ERP”: 3 buffered events were discarded."
    });
    assert_eq!(server.get(&erp_path, ADMIN).json["status"], "active");
    assert_eq!(
        deliveries(&server, &account, &erp_hook, "cancelled").len(),
        3
    );
    assert!(deliveries(&server, &account, &erp_hook, "buffered").is_empty());
    assert_eq!(
        erp.count(),
        1,
        "only the first attempt reached the receiver"
    );
}

#[test]
fn replay_from_the_page_resends_failed_deliveries_in_german() {
    let server = Server::start_with(QUICK_FAILURES, &[]);
    let healthy = Arc::new(AtomicBool::new(false));
    let flag = healthy.clone();
    let appointments_receiver = Receiver::start(move |_, _| {
        if flag.load(Ordering::SeqCst) {
            Reply::ok()
        } else {
            Reply::status(500).with_body("database is down")
        }
    });
    let invoices_receiver = Receiver::ok();
    let account = server.create_account("Praxis Süd");
    let appointments = webhook(
        &server,
        &account,
        "Termine",
        &appointments_receiver.url,
        &["termin.*"],
    );
    webhook(
        &server,
        &account,
        "Rechnungen",
        &invoices_receiver.url,
        &["rechnung.*"],
    );
    send(&server, &account, "termin.created", 3);
    send(&server, &account, "rechnung.created", 4);
    settled(&server, &account, 7);
    assert_eq!(
        deliveries(&server, &account, &appointments, "failed").len(),
        3
    );
    assert_eq!(appointments_receiver.count(), 6, "two attempts each");

    let b = Browser::start_in("de-DE,de;q=0.9");
    open_as_admin(&b, &server, &account);
    wait_language(&b, Lang::De);
    let failed_chart = chart(&b, "Termine");
    assert_eq!(
        failed_chart["title"],
        "Letzte 24 Stunden: 6 Zustellversuche, 0 erfolgreich, 6 fehlgeschlagen"
    );
    assert_eq!(failed_chart["figures"][0], "0\u{a0}% erfolgreich");

    // The receiver is back: resend what failed since yesterday (the form's default).
    healthy.store(true, Ordering::SeqCst);
    action(
        &b,
        "Termine",
        "Fehlgeschlagene Zustellungen seit … erneut senden",
    );
    b.wait_text(
        "//form[contains(@class,'replay-form')]/h3",
        "the replay form",
        |t| t == "Zustellungen an Termine erneut senden",
    );
    let since_ago_ms = b
        .exec(
            "return Date.now() - new Date(document.getElementById('replay-since').value).getTime()",
        )
        .as_f64()
        .unwrap();
    assert!(
        (86_400_000.0..86_400_000.0 + 120_000.0).contains(&since_ago_ms),
        "24 hours ago, to the minute: {since_ago_ms} ms"
    );
    assert_eq!(
        b.exec(
            "return [...document.querySelectorAll('.replay-form input[type=checkbox]')]
               .map(box => [box.value, box.checked, box.labels[0].textContent])"
        ),
        json!([
            ["failed", true, "fehlgeschlagen"],
            ["expired", false, "abgelaufen"],
            ["succeeded", false, "zugestellt"],
            ["cancelled", false, "abgebrochen"]
        ])
    );
    b.click("//form[contains(@class,'replay-form')]//button[.='Erneut senden']");
    b.wait_text("//div[@id='notice']", "the replay", |t| {
        t == "3 Zustellungen an „Termine“ werden erneut gesendet."
    });
    b.wait_gone("//form[contains(@class,'replay-form')]");
    appointments_receiver.wait_for(9, WAIT);
    settled(&server, &account, 7);
    assert_eq!(
        deliveries(&server, &account, &appointments, "succeeded").len(),
        3
    );

    // A choice the page refuses itself, and one the API refuses (its detail is shown).
    action(
        &b,
        "Termine",
        "Fehlgeschlagene Zustellungen seit … erneut senden",
    );
    b.click("//label[@for='replay-status-failed']");
    b.click("//form[contains(@class,'replay-form')]//button[.='Erneut senden']");
    b.wait_text(
        "//form[contains(@class,'replay-form')]//div[@role='alert']",
        "the missing status",
        |t| t == "Bitte wählen Sie mindestens einen Status.",
    );
    b.click("//label[@for='replay-status-failed']");
    b.exec("document.getElementById('replay-since').value = '2099-01-01T00:00'");
    b.click("//form[contains(@class,'replay-form')]//button[.='Erneut senden']");
    b.wait_text(
        "//form[contains(@class,'replay-form')]//div[@role='alert']",
        "the API's refusal",
        |t| t.starts_with("Validierung fehlgeschlagen") && t.contains("since"),
    );
    b.click("//form[contains(@class,'replay-form')]//button[.='Abbrechen']");

    // The chart shows the failures and the successes of the replay.
    b.click("//button[@id='reload-webhooks']");
    b.wait("the chart after the replay", |b| {
        let shown = chart(b, "Termine");
        (shown["title"] == "Letzte 24 Stunden: 9 Zustellversuche, 3 erfolgreich, 6 fehlgeschlagen")
            .then_some(())
    });
    action(&b, "Termine", "Zustellprotokoll");
    b.wait_text("//div[@id='log-body']", "the resent deliveries", |t| {
        t.matches("zugestellt").count() == 3
    });
    write_screenshot(&b, "admin-page-de.png");
}

/// Every message id the page's script and HTML name exists in the catalogs (which the unit
/// tests of `i18n` keep identical across languages). Ids built at run time from a prefix
/// (`"status-" + w.status`) are the API's values, listed in the catalogs as a group.
#[test]
fn every_message_the_page_names_is_in_the_catalogs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
    let (script, html) = (read("src/admin/app.js"), read("src/admin/index.html"));
    let prefixes = [
        "admin-",
        "portal-",
        "replay-",
        "health-",
        "status-",
        "delivery-",
        "field-",
        "outcome-",
        "problem-",
        "reason-",
    ];
    let is_id = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
            && !s.ends_with('-')
    };
    let mut named = Vec::new();
    // String literals of the script that look like message ids and are not element ids or
    // classes (`$("…")`, `id: "…"`, `htmlFor: "…"`, `class: "…"`).
    for (start, _) in script.match_indices('"') {
        let rest = &script[start + 1..];
        let Some(end) = rest.find('"') else { continue };
        let literal = &rest[..end];
        let before = script[..start].trim_end_matches(' ');
        let element = ["$(", "id:", "htmlFor:", "class:"]
            .iter()
            .any(|p| before.ends_with(p));
        if prefixes.iter().any(|p| literal.starts_with(p)) && is_id(literal) && !element {
            named.push(literal.to_string());
        }
    }
    for attribute in ["data-i18n=\"", "data-i18n-label=\""] {
        for (start, _) in html.match_indices(attribute) {
            let rest = &html[start + attribute.len()..];
            named.push(rest[..rest.find('"').unwrap()].to_string());
        }
    }
    assert!(named.len() > 100, "{named:?}");
    for required in [
        "replay-scheduled",
        "health-summary",
        "portal-ended-title",
        "admin-confirm-drop",
    ] {
        assert!(named.iter().any(|n| n == required), "{required} not found");
    }
    let english = i18n::source(Lang::En);
    let missing: Vec<&String> = named
        .iter()
        .filter(|id| !english.lines().any(|l| l.starts_with(&format!("{id} ="))))
        .collect();
    assert!(missing.is_empty(), "not in en.ftl: {missing:?}");
}
