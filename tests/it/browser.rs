//! The admin page, driven end to end in a real headless Chromium, plus its security headers.
//!
//! The browser is driven through chromedriver by speaking the W3C WebDriver HTTP protocol with
//! `ureq` (already a dependency): a handful of JSON requests, synchronous like the rest of the
//! tests, with no extra crates and no async runtime. Chromium and chromedriver come from Debian
//! (`apt-get install chromium chromium-driver`); without them the test fails and says so.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::receiver::{Receiver, Reply};
use crate::common::{ADMIN, Server};
use base64::Engine;
use hookd::i18n::{self, Lang};
use serde_json::{Value, json};

mod account_holders;

const INSTALL: &str = "apt-get update && apt-get install -y chromium chromium-driver";
const WAIT: Duration = Duration::from_secs(20);
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const XSS_NAME: &str = "<img src=x onerror=alert(1)>";

/// Chromium and chromedriver: Debian's paths, or `HOOKD_TEST_CHROMIUM` / `HOOKD_TEST_CHROMEDRIVER`.
fn browser_binaries() -> (PathBuf, PathBuf) {
    let path = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(default))
    };
    let chromium = path("HOOKD_TEST_CHROMIUM", "/usr/bin/chromium");
    let driver = path("HOOKD_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
    let missing: Vec<String> = [&chromium, &driver]
        .iter()
        .filter(|p| !p.exists())
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "the admin page browser test needs Chromium and chromedriver, but {} is missing. \
         Install them with `{INSTALL}` (as .ci/run does), or point HOOKD_TEST_CHROMIUM and \
         HOOKD_TEST_CHROMEDRIVER at other binaries.",
        missing.join(" and ")
    );
    (chromium, driver)
}

/// A WebDriver error (`value.error` of a failed command), e.g. "no such element".
#[derive(Debug)]
struct WdError(String);

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An element reference.
#[derive(Clone)]
struct Elem(String);

/// One headless Chromium session behind its own chromedriver process.
struct Browser {
    driver: Child,
    agent: ureq::Agent,
    /// `http://127.0.0.1:<port>` of chromedriver.
    root: String,
    /// `<root>/session/<id>` once the session exists.
    session: String,
    profile: tempfile::TempDir,
}

impl Browser {
    /// A browser whose person prefers English (US).
    fn start() -> Browser {
        Browser::start_in("en-US,en")
    }

    /// A browser whose person prefers `languages` (an `Accept-Language` list, e.g.
    /// `"de-AT,de"`): Chromium's UI language, its `Accept-Language` and `navigator.languages`.
    fn start_in(languages: &str) -> Browser {
        let (chromium, chromedriver) = browser_binaries();
        let profile = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log = profile.path().join("chromedriver.log");
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "start {}: {e}; install with `{INSTALL}`",
                    chromedriver.display()
                )
            });
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut browser = Browser {
            driver,
            agent,
            root: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            profile,
        };
        // Wait for chromedriver to listen and say it is ready.
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(Some(status)) = browser.driver.try_wait() {
                panic!(
                    "chromedriver exited with {status}; log:\n{}",
                    read_log(&log)
                );
            }
            if let Ok(v) = browser.raw("GET", &format!("{}/status", browser.root), None)
                && v["ready"] == true
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let user_data_dir = browser.profile.path().join("profile");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "unhandledPromptBehavior": "ignore",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1200,800",
                    format!("--lang={}", languages.split(',').next().unwrap_or("en-US")),
                    format!("--accept-lang={languages}"),
                    format!("--user-data-dir={}", user_data_dir.display()),
                ],
                "prefs": {"intl": {"accept_languages": languages}},
            },
        }}});
        let session = browser
            .raw(
                "POST",
                &format!("{}/session", browser.root),
                Some(capabilities),
            )
            .unwrap_or_else(|e| {
                panic!("start Chromium: {e}; chromedriver log:\n{}", read_log(&log))
            });
        let id = session["sessionId"].as_str().expect("session id");
        browser.session = format!("{}/session/{id}", browser.root);
        browser.set_viewport(1200, 800);
        browser
    }

    /// Sizes the window so that the page itself gets `width` × `height` pixels.
    fn set_viewport(&self, width: i64, height: i64) {
        let inner = |b: &Browser| b.exec("return [window.innerWidth, window.innerHeight]");
        let rect = self.cmd("GET", "/window/rect", None).expect("window rect");
        let now = inner(self);
        let (dw, dh) = (
            rect["width"].as_i64().unwrap() - now[0].as_i64().unwrap(),
            rect["height"].as_i64().unwrap() - now[1].as_i64().unwrap(),
        );
        self.cmd(
            "POST",
            "/window/rect",
            Some(json!({"width": width + dw, "height": height + dh})),
        )
        .expect("resize window");
        self.wait("the viewport size", |b| {
            (inner(b) == json!([width, height])).then_some(())
        });
    }

    /// One WebDriver request; the response's `value`, or its error.
    fn raw(&self, method: &str, url: &str, body: Option<Value>) -> Result<Value, WdError> {
        let response = match (method, body) {
            ("GET", _) => self.agent.get(url).call(),
            ("DELETE", _) => self.agent.delete(url).call(),
            (_, body) => self.agent.post(url).send_json(body.unwrap_or(json!({}))),
        };
        let mut response = response.map_err(|e| WdError(format!("{method} {url}: {e}")))?;
        let ok = response.status().is_success();
        let text = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| WdError(e.to_string()))?;
        let value: Value = serde_json::from_str(&text).map_err(|e| WdError(e.to_string()))?;
        let value = value["value"].clone();
        if ok {
            Ok(value)
        } else {
            Err(WdError(format!(
                "{}: {}",
                value["error"].as_str().unwrap_or("error"),
                value["message"].as_str().unwrap_or_default()
            )))
        }
    }

    /// A command of this session (`path` relative to `/session/{id}`).
    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, WdError> {
        self.raw(method, &format!("{}{path}", self.session), body)
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({ "url": url })))
            .expect("navigate");
    }

    fn find(&self, xpath: &str) -> Result<Elem, WdError> {
        let v = self.cmd(
            "POST",
            "/element",
            Some(json!({"using": "xpath", "value": xpath})),
        )?;
        Ok(Elem(v[ELEMENT].as_str().unwrap_or_default().to_string()))
    }

    fn text_of(&self, xpath: &str) -> Result<String, WdError> {
        let e = self.find(xpath)?;
        let v = self.cmd("GET", &format!("/element/{}/text", e.0), None)?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    fn displayed(&self, xpath: &str) -> bool {
        self.find(xpath)
            .and_then(|e| self.cmd("GET", &format!("/element/{}/displayed", e.0), None))
            .is_ok_and(|v| v == true)
    }

    fn value_of(&self, xpath: &str) -> Result<String, WdError> {
        let e = self.find(xpath)?;
        let v = self.cmd("GET", &format!("/element/{}/property/value", e.0), None)?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    fn exec(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
        .expect("execute script")
    }

    /// Runs `script` with `arguments[0]` = `arg`; its return value.
    fn exec_with(&self, script: &str, arg: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": [arg]})),
        )
        .expect("execute script")
    }

    fn alert_text(&self) -> Option<String> {
        self.cmd("GET", "/alert/text", None)
            .ok()
            .map(|v| v.as_str().unwrap_or_default().to_string())
    }

    fn screenshot(&self) -> Vec<u8> {
        let v = self.cmd("GET", "/screenshot", None).expect("screenshot");
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 screenshot"))
            .expect("decode screenshot")
    }

    /// Polls `check` until it gives `Some` or [`WAIT`] passes; then fails showing the page.
    fn wait<T>(&self, what: &str, mut check: impl FnMut(&Browser) -> Option<T>) -> T {
        self.retry(what, |b| check(b).ok_or_else(|| WdError("not yet".into())))
    }

    /// Polls `attempt` until it succeeds or [`WAIT`] passes; then fails with its last error
    /// and the page's text.
    fn retry<T>(&self, what: &str, mut attempt: impl FnMut(&Browser) -> Result<T, WdError>) -> T {
        let deadline = Instant::now() + WAIT;
        loop {
            let error = match attempt(self) {
                Ok(v) => return v,
                Err(e) => e,
            };
            if Instant::now() > deadline {
                let page = self
                    .cmd(
                        "POST",
                        "/execute/sync",
                        Some(json!({"script": "return document.body.innerText", "args": []})),
                    )
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .unwrap_or_else(|e| format!("(page text unavailable: {e})"));
                panic!("timed out waiting for {what} ({error}); the page shows:\n{page}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the element at `xpath` exists and is displayed, and clicks it.
    fn click(&self, xpath: &str) {
        self.retry(&format!("a clickable {xpath}"), |b| {
            let e = b.find(xpath)?;
            b.cmd("POST", &format!("/element/{}/click", e.0), None)
        });
    }

    /// Waits for the input at `xpath`, clears it and types `text`.
    fn fill(&self, xpath: &str, text: &str) {
        self.retry(&format!("an editable {xpath}"), |b| {
            let e = b.find(xpath)?;
            b.cmd("POST", &format!("/element/{}/clear", e.0), None)?;
            b.cmd(
                "POST",
                &format!("/element/{}/value", e.0),
                Some(json!({ "text": text })),
            )
        });
    }

    /// Waits until the text of the element at `xpath` satisfies `ok`; returns it.
    fn wait_text(&self, xpath: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
        self.wait(&format!("{xpath} to show {what}"), |b| {
            b.text_of(xpath).ok().filter(|t| ok(t))
        })
    }

    /// Waits until the element at `xpath` is displayed.
    fn wait_displayed(&self, xpath: &str) {
        self.wait(&format!("{xpath} to be displayed"), |b| {
            b.displayed(xpath).then_some(())
        });
    }

    /// Waits until no element matches `xpath`.
    fn wait_gone(&self, xpath: &str) {
        self.wait(&format!("{xpath} to disappear"), |b| {
            b.find(xpath).is_err().then_some(())
        });
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.agent.delete(&self.session).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn read_log(path: &Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// The row of the webhook named `name` in the webhook table.
fn row(name: &str) -> String {
    format!("//tbody[@id='webhook-rows']/tr[td[1][.='{name}']]")
}

/// Opens the Actions menu of the webhook `name` and clicks its button `action`.
fn action(b: &Browser, name: &str, action: &str) {
    let row = row(name);
    if !b.displayed(&format!("{row}//button[.='{action}']")) {
        b.click(&format!("{row}//summary"));
    }
    b.click(&format!("{row}//button[.='{action}']"));
}

const FORM: &str = "//form[contains(@class,'webhook-form')]";

fn save_form(b: &Browser) {
    b.click(&format!("{FORM}//button[.='Save']"));
}

#[test]
fn admin_page_in_headless_chromium() {
    let server = Server::start();
    let receiver = Receiver::start(|_, _| Reply::ok().with_body(r#"{"received":true}"#));
    // Gone (410) once, which deactivates its webhook at once; fine afterwards.
    let flaky = Receiver::start(|n, _| {
        if n == 0 {
            Reply::status(410).with_body("this endpoint is gone")
        } else {
            Reply::ok()
        }
    });
    let account = server.create_account("Clinic Nord");
    server.create_account("Hotel Süd");
    let webhooks = format!("/v1/accounts/{account}/webhooks");
    let find_webhook = |name: &str| -> Option<Value> {
        let list = server.get(&webhooks, ADMIN);
        assert_eq!(list.status, 200, "{}", list.text);
        list.json["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["name"] == name)
            .cloned()
    };

    let b = Browser::start();
    b.goto(&server.url("/"));

    // Sign in: a wrong token shows the problem; the admin token lists the accounts.
    b.fill("//input[@id='token']", "not-a-token");
    b.click("//form[@id='sign-in-form']//button[.='Sign in']");
    b.wait_text("//div[@id='error']", "the 401 problem", |t| {
        t.contains("Unauthorized") && t.contains("a valid bearer token is required")
    });
    b.fill("//input[@id='token']", ADMIN);
    b.click("//form[@id='sign-in-form']//button[.='Sign in']");
    b.wait_displayed("//form[@id='account-pick-form']");
    assert_eq!(
        b.exec("return sessionStorage.getItem('hookd.token')"),
        json!(ADMIN)
    );
    assert!(!b.displayed("//section[@id='sign-in']"));

    // Pick the account.
    b.click(&format!(
        "//select[@id='account-select']/option[@value='{account}']"
    ));
    b.click("//form[@id='account-pick-form']//button[.='Open']");
    b.wait_text("//h2[@id='webhooks-title']", "the account", |t| {
        t == "Webhooks of Clinic Nord"
    });

    // Create a webhook; a missing field first shows the validation problem's field errors.
    b.click("//button[@id='create-webhook']");
    b.fill("//input[@id='wh-name']", "Bookings");
    b.fill("//input[@id='wh-url']", &receiver.url);
    save_form(&b);
    b.wait_text(
        &format!("{FORM}//div[contains(@class,'error')]"),
        "the validation problem",
        |t| t.contains("Validation failed") && t.contains("eventList"),
    );
    assert!(find_webhook("Bookings").is_none());
    b.fill(
        "//textarea[@id='wh-events']",
        "booking.created, booking.cancelled",
    );
    save_form(&b);
    let text = b.wait_text(&row("Bookings"), "the new webhook", |t| !t.is_empty());
    for expected in [
        receiver.url.as_str(),
        "booking.created, booking.cancelled",
        "active",
    ] {
        assert!(text.contains(expected), "{expected} in row: {text}");
    }
    assert_eq!(
        b.text_of(&format!("{}/td[5]", row("Bookings"))).unwrap(),
        "0"
    );
    b.wait_gone(FORM);
    let created = find_webhook("Bookings").expect("created through the page");
    assert_eq!(
        created["eventList"],
        json!(["booking.created", "booking.cancelled"])
    );
    assert_eq!(created["enabled"], true);
    assert_eq!(created["version"], 1);
    let id = created["id"].as_str().unwrap().to_string();
    let webhook = format!("{webhooks}/{id}");

    // Update, with someone else changing the webhook between opening the form and saving.
    action(&b, "Bookings", "Update");
    b.wait("the edit form", |b| {
        (b.value_of("//input[@id='wh-name']").ok()? == "Bookings").then_some(())
    });
    let mut changed = created.clone();
    changed["name"] = json!("Bookings (changed by API)");
    changed["description"] = json!("set elsewhere");
    let r = server.put(&webhook, ADMIN, &changed);
    assert_eq!(r.status, 200, "{}", r.text);
    b.fill("//input[@id='wh-name']", "Bookings v2");
    save_form(&b);
    b.wait_text(
        &format!("{FORM}//div[contains(@class,'error')]"),
        "the version conflict",
        |t| t == "Someone else changed this webhook (now version 2). Reload and try again.",
    );
    let stored = server.get(&webhook, ADMIN).json;
    assert_eq!(stored["name"], "Bookings (changed by API)");
    assert_eq!(stored["version"], 2);
    b.click(&format!("{FORM}//button[.='Reload']"));
    b.wait("the reloaded form", |b| {
        (b.value_of("//input[@id='wh-name']").ok()? == "Bookings (changed by API)").then_some(())
    });
    b.fill("//input[@id='wh-name']", "Bookings v2");
    b.fill("//textarea[@id='wh-events']", "booking.*");
    save_form(&b);
    b.wait_text(&row("Bookings v2"), "the updated webhook", |t| {
        t.contains("booking.*")
    });
    let stored = server.get(&webhook, ADMIN).json;
    assert_eq!(stored["name"], "Bookings v2");
    assert_eq!(stored["version"], 3);
    assert_eq!(stored["eventList"], json!(["booking.*"]));
    assert_eq!(
        stored["description"], "set elsewhere",
        "PUT keeps the fields the form does not show"
    );

    // Send a test event and see it delivered in the log, with status code and response.
    action(&b, "Bookings v2", "Send test event");
    let log = b.wait_text("//div[@id='log-body']", "the delivered test event", |t| {
        t.contains("hookd.ping") && t.contains("succeeded") && t.contains("HTTP 200")
    });
    assert!(
        log.contains(r#"{"received":true}"#),
        "response snippet in: {log}"
    );
    assert_eq!(
        b.text_of("//h2[@id='log-title']").unwrap(),
        "Delivery log of Bookings v2"
    );
    assert_eq!(receiver.wait_for(1, WAIT)[0].json()["type"], "hookd.ping");
    // The notice shows the body sent and the receiver's answer.
    let sent = String::from_utf8(receiver.requests()[0].body.clone()).unwrap();
    b.wait_text("//div[@id='notice']", "the test's body and answer", |t| {
        t.contains(&sent) && t.contains("The receiver’s answer:") && t.contains("HTTP 200")
    });

    // A name that is HTML is shown as text, never parsed.
    b.click("//button[@id='create-webhook']");
    b.fill("//input[@id='wh-name']", XSS_NAME);
    b.fill("//textarea[@id='wh-events']", "booking.created");
    b.fill("//input[@id='wh-url']", &receiver.url);
    save_form(&b);
    b.wait_displayed(&row(XSS_NAME));
    assert_eq!(
        b.exec("return document.querySelectorAll('img').length"),
        json!(0)
    );
    assert_eq!(b.alert_text(), None, "no script ran");

    // The receiver options: a filter and the Slack preset, through the form into the API.
    b.click("//button[@id='create-webhook']");
    b.fill("//input[@id='wh-name']", "Big orders to Slack");
    b.fill("//textarea[@id='wh-events']", "order.*");
    b.fill("//input[@id='wh-url']", &receiver.url);
    b.fill("//textarea[@id='wh-filter']", "data.total >= 100");
    b.click("//select[@id='wh-template']/option[@value='slack']");
    assert!(!b.displayed("//textarea[@id='wh-template-body']"));
    b.click("//select[@id='wh-signature']/option[@value='v1 v1a']");
    save_form(&b);
    b.wait_displayed(&row("Big orders to Slack"));
    let slack = find_webhook("Big orders to Slack").expect("created through the page");
    assert_eq!(slack["filter"], "data.total >= 100");
    assert_eq!(slack["template"], json!({"preset": "slack"}));
    assert_eq!(slack["signature"], "v1 v1a");
    assert_eq!(slack["auth"], Value::Null);
    // Editing shows them again, and saving keeps them.
    action(&b, "Big orders to Slack", "Update");
    b.wait("the edit form with its filter", |b| {
        (b.value_of("//textarea[@id='wh-filter']").ok()? == "data.total >= 100").then_some(())
    });
    assert_eq!(b.value_of("//select[@id='wh-template']").unwrap(), "slack");
    save_form(&b);
    b.wait_gone(FORM);
    let saved = find_webhook("Big orders to Slack").unwrap();
    assert_eq!(saved["version"], 2);
    assert_eq!(saved["filter"], "data.total >= 100");
    assert_eq!(saved["template"], json!({"preset": "slack"}));

    // A webhook deactivated by a 410, and an event so the log has more than one delivery.
    let r = server.post(
        &webhooks,
        ADMIN,
        &json!({"name": "Legacy CRM", "eventUrl": flaky.url, "eventList": ["crm.*"]}),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let legacy = format!("{webhooks}/{}", r.json["id"].as_str().unwrap());
    assert_eq!(
        server
            .post(&format!("{legacy}/test"), ADMIN, &json!({}))
            .status,
        202
    );
    crate::common::eventually(WAIT, || {
        (server.get(&legacy, ADMIN).json["status"] == "deactivated").then_some(())
    });
    let r = server.post(
        &format!("/v1/accounts/{account}/events"),
        ADMIN,
        &json!({"type": "booking.created", "data": {"bookingId": 4711}}),
    );
    assert_eq!(r.status, 202, "{}", r.text);
    receiver.wait_for(3, WAIT);
    b.click("//button[@id='reload-webhooks']");
    b.wait_text(&row("Legacy CRM"), "the deactivated webhook", |t| {
        t.contains("deactivated")
    });
    b.click("//button[@id='log-refresh']");
    b.wait("two delivered events in the log", |b| {
        let t = b.text_of("//div[@id='log-body']").ok()?;
        (t.matches("succeeded").count() == 2).then_some(())
    });
    if std::env::var("HOOKD_WRITE_SCREENSHOT").as_deref() == Ok("1") {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/admin-page.png");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, b.screenshot()).unwrap();
        eprintln!("wrote {}", path.display());
    }

    // Activate it, delivering what was buffered meanwhile (chosen by default).
    b.click(&format!("{}//summary", row("Legacy CRM")));
    b.wait_displayed(&format!(
        "{}//label[.='deliver the buffered event']",
        row("Legacy CRM")
    ));
    assert_eq!(
        b.exec("return document.querySelector('#webhook-rows .activate input').checked"),
        json!(true)
    );
    action(&b, "Legacy CRM", "Activate");
    b.wait_text("//div[@id='notice']", "the activation", |t| {
        t == "Activated “Legacy CRM”: 1 buffered event is being delivered."
    });
    b.wait_text(&format!("{}/td[4]", row("Legacy CRM")), "active", |t| {
        t == "active"
    });
    flaky.wait_for(2, WAIT);
    assert_eq!(server.get(&legacy, ADMIN).json["status"], "active");

    // Remove: cancelling the confirmation keeps the webhook, OK removes it.
    action(&b, XSS_NAME, "Remove");
    let question = b.wait("the confirmation", |b| b.alert_text());
    assert!(question.contains(XSS_NAME), "{question}");
    b.cmd("POST", "/alert/dismiss", None).unwrap();
    assert!(b.displayed(&row(XSS_NAME)));
    assert!(find_webhook(XSS_NAME).is_some());
    action(&b, "Bookings v2", "Remove");
    let question = b.wait("the confirmation", |b| b.alert_text());
    assert_eq!(
        question,
        "Remove the webhook “Bookings v2”? Its pending deliveries are cancelled."
    );
    b.cmd("POST", "/alert/accept", None).unwrap();
    b.wait_gone(&row("Bookings v2"));
    assert_eq!(server.get(&webhook, ADMIN).status, 404);
    assert!(!b.displayed("//section[@id='log']"), "its log closes");

    // Sign out forgets the token.
    b.click("//button[@id='sign-out']");
    b.wait_displayed("//section[@id='sign-in']");
    assert_eq!(b.exec("return sessionStorage.length"), json!(0));
    assert!(!b.displayed("//section[@id='webhooks']"));

    // An account token cannot list accounts: the page asks for the account id.
    let (_, token) = server.create_token(&account);
    b.fill("//input[@id='token']", &token);
    b.click("//form[@id='sign-in-form']//button[.='Sign in']");
    b.wait_displayed("//form[@id='account-id-form']");
    assert!(!b.displayed("//form[@id='account-pick-form']"));
    b.fill("//input[@id='account-id']", &account);
    b.click("//form[@id='account-id-form']//button[.='Open']");
    b.wait_text("//h2[@id='webhooks-title']", "the account", |t| {
        t == "Webhooks of Clinic Nord"
    });
    b.wait_displayed(&row("Legacy CRM"));
    b.wait_displayed(&row(XSS_NAME));

    // Reloading the tab keeps the session (sessionStorage) and the chosen account.
    b.goto(&server.url("/"));
    b.wait_displayed(&row("Legacy CRM"));
}

fn directives(csp: &str) -> Vec<(String, Vec<String>)> {
    csp.split(';')
        .filter_map(|d| {
            let mut words = d.split_whitespace();
            let name = words.next()?.to_ascii_lowercase();
            Some((name, words.map(str::to_string).collect()))
        })
        .collect()
}

#[test]
fn admin_page_headers_and_script() {
    let server = Server::start();
    let page = crate::common::request("GET", &server.url("/"), None, None);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
    let csp = page.header("content-security-policy").expect("CSP");
    let directives = directives(csp);
    let get = |name: &str| {
        directives
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let script = get("script-src")
        .or_else(|| get("default-src"))
        .expect("script-src");
    assert!(script.contains(&"'self'".to_string()), "{csp}");
    for bad in [
        "'unsafe-inline'",
        "'unsafe-eval'",
        "*",
        "data:",
        "http:",
        "https:",
    ] {
        assert!(!script.contains(&bad.to_string()), "{bad} in {csp}");
    }
    assert_eq!(
        get("connect-src"),
        Some(vec!["'self'".to_string()]),
        "{csp}"
    );
    assert_eq!(
        get("frame-ancestors"),
        Some(vec!["'none'".to_string()]),
        "{csp}"
    );

    // The page's one script is the served file; nothing inline.
    let html = &page.text;
    assert_eq!(html.matches("<script").count(), 1, "{html}");
    assert!(html.contains(r#"<script src="/admin/app.js" defer></script>"#));
    for handler in ["onclick=", "onload=", "onerror=", "onsubmit="] {
        assert!(!html.contains(handler), "no inline handlers");
    }
    assert!(!html.contains("style="), "no inline styles");
    let js = crate::common::request("GET", &server.url("/admin/app.js"), None, None);
    assert_eq!(js.status, 200);
    assert_eq!(
        js.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert_eq!(js.header("x-content-type-options"), Some("nosniff"));
    for sink in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
    ] {
        assert!(!js.text.contains(sink), "app.js uses {sink}");
    }
    let css = crate::common::request("GET", &server.url("/admin/style.css"), None, None);
    assert_eq!(css.status, 200);
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    let missing = crate::common::request("GET", &server.url("/admin/nope.js"), None, None);
    assert_eq!(missing.status, 404);

    // The language catalogs the page formats its texts from: hookd's own files, as text.
    for lang in Lang::ALL {
        let path = format!("/admin/{}.ftl", lang.code());
        let catalog = crate::common::request("GET", &server.url(&path), None, None);
        assert_eq!(catalog.status, 200, "{path}");
        assert_eq!(
            catalog.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
        assert_eq!(catalog.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(catalog.header("content-security-policy"), Some(csp));
        assert_eq!(catalog.text, i18n::source(lang));
    }
    for unknown in ["fr.ftl", "EN.ftl", "pt-BR.ftl", "en.ftl.bak", ".ftl"] {
        let r =
            crate::common::request("GET", &server.url(&format!("/admin/{unknown}")), None, None);
        assert_eq!(r.status, 404, "{unknown}");
    }
}

/// Waits until the page shows `lang`: `<html lang>` set and its texts in place.
fn wait_language(b: &Browser, lang: Lang) {
    b.wait(&format!("the page in {}", lang.code()), |b| {
        let shown = b.exec(
            "return [document.documentElement.lang, \
             document.documentElement.classList.contains('i18n-pending'), \
             document.querySelector('#sign-in-form button').textContent]",
        );
        (shown == json!([lang.code(), false, i18n::text(lang, "admin-sign-in", &[])])).then_some(())
    });
}

/// Chooses `lang` in the page's language switcher.
fn switch_language(b: &Browser, lang: Lang) {
    b.click(&format!(
        "//select[@id='language']/option[@value='{}']",
        lang.code()
    ));
    wait_language(b, lang);
}

#[test]
fn sign_in_screen_speaks_the_browsers_language() {
    let server = Server::start();
    // The browser's preference list, the language it must choose, and that language's words
    // for the sign-in button and heading and the language switcher's label.
    let cases = [
        ("en-US,en", Lang::En, "Sign in", "Language"),
        ("de-AT,de;q=0.9,en;q=0.8", Lang::De, "Anmelden", "Sprache"),
        ("da-DK,da,en;q=0.5", Lang::Da, "Log ind", "Sprog"),
        ("no,en;q=0.5", Lang::Nb, "Logg inn", "Språk"),
        ("pt-BR,pt;q=0.9", Lang::Pt, "Iniciar sessão", "Idioma"),
    ];
    for (preferences, lang, sign_in, language_label) in cases {
        let b = Browser::start_in(preferences);
        b.goto(&server.url("/"));
        wait_language(&b, lang);
        let sign_in_button = "//form[@id='sign-in-form']//button[@type='submit']";
        assert_eq!(b.text_of(sign_in_button).unwrap(), sign_in, "{preferences}");
        assert_eq!(
            b.text_of("//section[@id='sign-in']/h2").unwrap(),
            sign_in,
            "{preferences}"
        );
        assert_eq!(
            b.text_of("//header//label[@for='language']").unwrap(),
            language_label
        );
        let hint = b.text_of("//form[@id='sign-in-form']/p").unwrap();
        assert_eq!(
            hint,
            i18n::text(lang, "admin-token-hint", &[("example", "hkd_…".into())]),
            "{preferences}"
        );
        assert_eq!(
            b.text_of("//form[@id='sign-in-form']/p/code").unwrap(),
            "hkd_…"
        );
        assert_eq!(
            b.exec("return [document.title, document.getElementById('language').value]"),
            json!([i18n::text(lang, "admin-title", &[]), lang.code()])
        );
        // Every language is offered by its own name.
        let offered = b.exec(
            "return [...document.querySelectorAll('#language option')].map(o => [o.value, o.text, o.lang])",
        );
        let expected: Vec<Value> = Lang::ALL
            .iter()
            .map(|l| json!([l.code(), l.endonym(), l.code()]))
            .collect();
        assert_eq!(offered, json!(expected));
    }
}

/// Every message of the catalogs with arguments for its variables: a number for the one a
/// select expression chooses by (several, to try each plural form and the digit grouping),
/// text for the others.
fn catalog_cases() -> Vec<(String, serde_json::Map<String, Value>)> {
    use fluent_syntax::ast::{Entry, Expression, InlineExpression, Pattern, PatternElement};
    fn variables(pattern: &Pattern<&str>, out: &mut Vec<String>) {
        for element in &pattern.elements {
            match element {
                PatternElement::Placeable {
                    expression: Expression::Select { selector, variants },
                } => {
                    if let InlineExpression::VariableReference { id } = selector {
                        out.push(id.name.to_string());
                    }
                    for variant in variants {
                        variables(&variant.value, out);
                    }
                }
                PatternElement::Placeable {
                    expression: Expression::Inline(InlineExpression::VariableReference { id }),
                } => out.push(id.name.to_string()),
                _ => {}
            }
        }
    }
    let resource = fluent_syntax::parser::parse(i18n::source(Lang::En)).expect("en.ftl parses");
    let mut cases = Vec::new();
    for entry in resource.body {
        let Entry::Message(message) = entry else {
            continue;
        };
        let Some(value) = &message.value else {
            continue;
        };
        let selector = match value.elements.as_slice() {
            [
                PatternElement::Placeable {
                    expression:
                        Expression::Select {
                            selector: InlineExpression::VariableReference { id },
                            ..
                        },
                },
            ] => Some(id.name.to_string()),
            _ => None,
        };
        let mut names = Vec::new();
        variables(value, &mut names);
        let text_args: serde_json::Map<String, Value> = names
            .iter()
            .filter(|n| Some(*n) != selector.as_ref())
            .map(|n| (n.clone(), json!(format!("[{n}]"))))
            .collect();
        let numbers: &[i64] = if selector.is_some() {
            &[0, 1, 2, 5, 12, 21, 1234, 12345]
        } else {
            &[0]
        };
        for n in numbers {
            let mut args = text_args.clone();
            if let Some(selector) = &selector {
                args.insert(selector.clone(), json!(n));
            }
            cases.push((message.id.name.to_string(), args));
        }
    }
    cases
}

/// What hookd itself makes of the same cases.
fn formatted_by_hookd(
    lang: Lang,
    cases: &[(String, serde_json::Map<String, Value>)],
) -> Vec<String> {
    cases
        .iter()
        .map(|(id, args)| {
            let args: Vec<(&str, i18n::Arg)> = args
                .iter()
                .map(|(name, value)| {
                    let arg = match value {
                        Value::Number(n) => i18n::Arg::Number(n.as_i64().unwrap()),
                        other => i18n::Arg::from(other.as_str().unwrap()),
                    };
                    (name.as_str(), arg)
                })
                .collect();
            i18n::text(lang, id, &args)
        })
        .collect()
}

#[test]
fn language_switcher_changes_the_page_and_is_remembered() {
    let server = Server::start();
    let receiver = Receiver::ok();
    let account = server.create_account("Clinic Nord");
    let r = server.post(
        &format!("/v1/accounts/{account}/webhooks"),
        ADMIN,
        &json!({"name": "Bookings", "eventUrl": receiver.url, "eventList": ["booking.*"], "enabled": false}),
    );
    assert_eq!(r.status, 201, "{}", r.text);

    let b = Browser::start_in("en-US,en");
    b.goto(&server.url("/"));
    wait_language(&b, Lang::En);
    assert_eq!(
        b.exec("return localStorage.getItem('hookd.language')"),
        Value::Null,
        "only a pick is remembered"
    );

    // Each language in turn, through the switcher: the page's formatter gives exactly what
    // hookd's Fluent gives for every message of the catalogs, plural forms and numbers too.
    let cases = catalog_cases();
    assert!(cases.len() > 100, "{} cases", cases.len());
    let in_page: Vec<Value> = cases
        .iter()
        .map(|(id, args)| json!({"id": id, "args": args}))
        .collect();
    for lang in [Lang::De, Lang::Da, Lang::Nb, Lang::Pt, Lang::En] {
        switch_language(&b, lang);
        let page = b.exec_with(
            "return arguments[0].map(c => t(c.id, c.args))",
            json!(in_page),
        );
        let page: Vec<String> = serde_json::from_value(page).unwrap();
        let hookd = formatted_by_hookd(lang, &cases);
        let differences: Vec<String> = cases
            .iter()
            .zip(page.iter().zip(&hookd))
            .filter(|(_, (page, hookd))| page != hookd)
            .map(|((id, args), (page, hookd))| {
                format!("{id} {args:?}\n  page:  {page:?}\n  hookd: {hookd:?}")
            })
            .collect();
        assert!(
            differences.is_empty(),
            "{}: the page formats differently:\n{}",
            lang.code(),
            differences.join("\n")
        );
    }

    // The pick is remembered: a reload opens in it, whatever the browser prefers.
    switch_language(&b, Lang::De);
    assert_eq!(
        b.exec("return localStorage.getItem('hookd.language')"),
        json!("de")
    );
    b.goto(&server.url("/"));
    wait_language(&b, Lang::De);
    assert_eq!(
        b.exec("return document.getElementById('language').value"),
        json!("de")
    );

    // Signed in, the texts built from the store's data follow a switch too.
    b.fill("//input[@id='token']", ADMIN);
    b.click("//form[@id='sign-in-form']//button[.='Anmelden']");
    b.wait_displayed("//form[@id='account-pick-form']");
    assert_eq!(
        b.text_of("//header/p[@id='who']").unwrap(),
        "Als Administrator angemeldet"
    );
    b.click(&format!(
        "//select[@id='account-select']/option[@value='{account}']"
    ));
    b.click("//form[@id='account-pick-form']//button[.='Öffnen']");
    b.wait_text("//h2[@id='webhooks-title']", "the account", |t| {
        t == "Webhooks von Clinic Nord"
    });
    let status = format!("{}/td[4]", row("Bookings"));
    assert_eq!(b.text_of(&status).unwrap(), "aktiv, ausgeschaltet");
    assert_eq!(
        b.text_of("//section[@id='webhooks']//th[5]").unwrap(),
        "Fehlschläge"
    );

    switch_language(&b, Lang::Pt);
    assert_eq!(
        b.text_of("//h2[@id='webhooks-title']").unwrap(),
        "Webhooks de Clinic Nord"
    );
    assert_eq!(b.text_of(&status).unwrap(), "ativo, desligado");
    assert_eq!(
        b.text_of("//header/p[@id='who']").unwrap(),
        format!("Sessão iniciada como administrador · conta Clinic Nord ({account})")
    );
    b.click(&format!("{}//summary", row("Bookings")));
    assert!(b.displayed(&format!(
        "{}//button[.='Enviar evento de teste']",
        row("Bookings")
    )));
    assert_eq!(
        b.exec("return document.querySelector('#webhook-rows summary').getAttribute('aria-label')"),
        json!("Ações para Bookings")
    );
    assert_eq!(
        b.exec("return localStorage.getItem('hookd.language')"),
        json!("pt")
    );
}
