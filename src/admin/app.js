/* hookd admin page: plain JavaScript, no build step, no dependencies.
 *
 * Everything that comes from the API is put into the page with textContent (through el()),
 * never parsed as HTML. */
"use strict";

const TOKEN_KEY = "hookd.token";
const ACCOUNT_KEY = "hookd.account";
const LOG_SIZE = 50;

const state = {
  token: null,
  isAdmin: false,
  accounts: [],
  account: null, // {id, name}
  webhooks: [],
  logWebhook: null,
  logTimer: null,
};

const $ = (id) => document.getElementById(id);

/* Builds an element; string children become text nodes, attributes are set as properties. */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "role" || key.startsWith("aria-") || key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/* ---- talking to the API ---- */

class ApiError extends Error {
  constructor(status, problem) {
    const p = problem && typeof problem === "object" ? problem : {};
    super(p.detail || p.title || "HTTP " + status);
    this.status = status;
    this.problem = p;
  }
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + state.token, Accept: "application/json" };
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { title: "Network error", detail: "hookd could not be reached (" + e.message + ")" });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch (e) {
      data = null;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && state.account) expired();
    throw new ApiError(response.status, data);
  }
  return data;
}

/* Every item of a paginated list (up to `max`). */
async function listAll(path, max = 1000) {
  let items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api("GET", path + sep + "limit=200" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
    items = items.concat(page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  return items;
}

const enc = encodeURIComponent;
const accountPath = () => "/v1/accounts/" + enc(state.account.id);
const webhookPath = (w) => accountPath() + "/webhooks/" + enc(w.id);

/* ---- messages ---- */

/* The nodes that explain an error: the problem's title, detail and field errors. */
function problemNodes(err) {
  const p = err.problem || {};
  const title = el("strong", {}, p.title || "Error");
  if (Array.isArray(p.errors) && p.errors.length) {
    return [title, el("ul", {}, p.errors.map((e) => el("li", {}, (e.field ? e.field + ": " : "") + (e.message || ""))))];
  }
  return [title, p.detail ? " — " + p.detail : ""];
}

function showError(err, box = $("error")) {
  box.replaceChildren(...(err instanceof ApiError ? problemNodes(err) : [String(err.message || err)]));
  box.hidden = false;
  if (box === $("error")) $("notice").textContent = "";
}

function clearError(box = $("error")) {
  box.replaceChildren();
  box.hidden = true;
}

function notice(text) {
  clearError();
  $("notice").textContent = text;
}

/* Runs an action, showing its error instead of throwing. */
async function guarded(action, box) {
  try {
    await action();
  } catch (err) {
    showError(err, box);
  }
}

/* ---- signing in ---- */

function showSections() {
  const signedIn = state.token !== null;
  $("sign-in").hidden = signedIn;
  $("sign-out").hidden = !signedIn;
  $("account").hidden = !signedIn;
  $("account-pick-form").hidden = !state.isAdmin;
  $("account-id-form").hidden = state.isAdmin;
  $("webhooks").hidden = !state.account;
  $("log").hidden = !state.logWebhook;
  $("who").textContent = !signedIn
    ? ""
    : (state.isAdmin ? "Signed in as admin" : "Signed in with an account token") +
      (state.account ? " · account " + state.account.name + " (" + state.account.id + ")" : "");
}

async function signIn(token) {
  state.token = token;
  try {
    state.accounts = await listAll("/v1/accounts", 10000);
    state.isAdmin = true;
  } catch (err) {
    if (err.status !== 403) {
      state.token = null;
      throw err;
    }
    state.accounts = [];
    state.isAdmin = false;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  const select = $("account-select");
  select.replaceChildren(...state.accounts.map((a) => el("option", { value: a.id }, a.name + " (" + a.id + ")")));
  showSections();
  const remembered = sessionStorage.getItem(ACCOUNT_KEY);
  if (remembered) {
    select.value = remembered;
    $("account-id").value = remembered;
    await openAccount(remembered);
  } else {
    (state.isAdmin ? select : $("account-id")).focus();
  }
}

function signOut() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ACCOUNT_KEY);
  closeLog();
  Object.assign(state, { token: null, isAdmin: false, accounts: [], account: null, webhooks: [] });
  $("account-select").replaceChildren();
  $("account-id").value = "";
  $("webhook-rows").replaceChildren();
  $("webhook-form-slot").replaceChildren();
  $("token").value = "";
  clearError();
  $("notice").textContent = "";
  showSections();
  $("token").focus();
}

/* The token stopped working while signed in (revoked, or the admin token changed). */
function expired() {
  signOut();
  showError(new Error("The token is no longer accepted. Sign in again."));
}

async function openAccount(id) {
  closeLog();
  $("webhook-form-slot").replaceChildren();
  const account = await api("GET", "/v1/accounts/" + enc(id));
  state.account = { id: account.id, name: account.name };
  sessionStorage.setItem(ACCOUNT_KEY, account.id);
  $("webhooks-title").textContent = "Webhooks of " + account.name;
  showSections();
  await loadWebhooks();
}

/* ---- webhooks ---- */

async function loadWebhooks() {
  state.webhooks = await listAll(accountPath() + "/webhooks", 10000);
  $("webhook-rows").replaceChildren(...state.webhooks.map(webhookRow));
  $("no-webhooks").hidden = state.webhooks.length > 0;
}

function statusText(w) {
  return w.status + (w.enabled ? "" : ", disabled");
}

function webhookRow(w) {
  // One Actions menu open at a time; choosing an action closes it.
  const details = el("details", {
    ontoggle: () => {
      if (!details.open) return;
      for (const other of document.querySelectorAll("#webhook-rows details[open]")) {
        if (other !== details) other.open = false;
      }
    },
  });
  const item = (label, run) =>
    el("button", { type: "button", onclick: () => { details.open = false; guarded(run); } }, label);
  const menu = el(
    "div",
    { class: "menu" },
    item("Update", async () => editWebhook(w)),
    item("Remove", () => removeWebhook(w)),
    item("Send test event", () => sendTest(w)),
    item("Delivery log", () => openLog(w)),
  );
  if (w.status === "deactivated") {
    const replay = el("input", { type: "checkbox", id: "replay-" + w.id });
    menu.append(
      el(
        "div",
        { class: "activate" },
        replay,
        el("label", { htmlFor: replay.id }, "deliver buffered events"),
        item("Activate", () => activate(w, replay.checked)),
      ),
    );
  }
  details.append(el("summary", { "aria-label": "Actions for " + w.name }, "Actions"), menu);
  const reason = w.deactivationReason ? el("div", { class: "hint" }, w.deactivationReason) : null;
  return el(
    "tr",
    { "data-webhook-id": w.id },
    el("td", {}, w.name),
    el("td", { class: "url" }, w.eventUrl),
    el("td", {}, (w.eventList || []).join(", ")),
    el("td", {}, el("span", { class: "status " + w.status }, statusText(w)), reason),
    el("td", { class: "num" }, String(w.failureCount)),
    el("td", {}, details),
  );
}

/* The create / update form. `w` is the webhook being edited, or null to create one. */
function webhookForm(w) {
  const editing = w !== null;
  const slot = $("webhook-form-slot");
  const errorBox = el("div", { class: "error", role: "alert", hidden: true });
  const field = (id, label, input) => el("div", { class: "field" }, el("label", { htmlFor: id }, label), input);
  const name = el("input", { id: "wh-name", type: "text", required: true, maxLength: 200 });
  const enabled = el("input", { id: "wh-enabled", type: "checkbox" });
  const events = el("textarea", { id: "wh-events", rows: 3, placeholder: "booking.created, booking.*" });
  const url = el("input", { id: "wh-url", type: "url", required: true, placeholder: "https://example.com/webhook" });
  let account;
  if (!editing && state.isAdmin) {
    account = el("select", { id: "wh-account" }, state.accounts.map((a) => el("option", { value: a.id }, a.name + " (" + a.id + ")")));
  } else {
    account = el("input", { id: "wh-account", type: "text", readOnly: true });
  }
  account.value = editing ? w.ownerIdentifier : state.account.id;
  const version = el("p", { class: "hint" });
  let current = w;
  const fill = (hook) => {
    current = hook;
    name.value = hook ? hook.name : "";
    enabled.checked = hook ? hook.enabled : true;
    events.value = hook ? hook.eventList.join("\n") : "";
    url.value = hook ? hook.eventUrl : "";
    version.textContent = hook ? "Version " + hook.version : "";
  };
  fill(w);

  const close = () => slot.replaceChildren();
  const reload = el("button", { type: "button", hidden: true }, "Reload");
  reload.addEventListener("click", () =>
    guarded(async () => {
      fill(await api("GET", webhookPath(current)));
      reload.hidden = true;
      clearError(errorBox);
    }, errorBox),
  );

  const save = async () => {
    clearError(errorBox);
    const body = {
      name: name.value,
      enabled: enabled.checked,
      eventUrl: url.value.trim(),
      eventList: events.value.split(/[\s,]+/).filter((s) => s !== ""),
    };
    try {
      if (editing) {
        const saved = await api("PUT", webhookPath(current), {
          ...body,
          description: current.description,
          headers: current.headers,
          rateLimit: current.rateLimit,
          ordered: current.ordered,
          version: current.version,
        });
        notice("Saved “" + saved.name + "” (version " + saved.version + ").");
      } else {
        const created = await api("POST", "/v1/accounts/" + enc(account.value) + "/webhooks", body);
        notice("Created “" + created.name + "”.");
        if (account.value !== state.account.id) {
          close();
          await openAccount(account.value);
          return;
        }
      }
      close();
      await loadWebhooks();
    } catch (err) {
      if (err.problem && err.problem.type === "/problems/version-conflict") {
        const now = /\d+/.exec(err.problem.detail || "");
        showError(new Error("Someone else changed this webhook (now version " + (now ? now[0] : "?") + "). Reload and try again."), errorBox);
        reload.hidden = false;
      } else {
        showError(err, errorBox);
      }
    }
  };

  const form = el(
    "form",
    { class: "webhook-form", noValidate: true, onsubmit: (e) => { e.preventDefault(); save(); } },
    el("h3", {}, editing ? "Update webhook" : "Create new webhook"),
    field("wh-name", "Name", name),
    el("div", { class: "field check" }, enabled, el("label", { htmlFor: "wh-enabled" }, "Enabled")),
    field("wh-account", "Account", account),
    field("wh-events", "Events (comma- or line-separated)", events),
    field("wh-url", "URL", url),
    version,
    errorBox,
    el("div", { class: "buttons" }, el("button", { type: "submit" }, "Save"), reload, el("button", { type: "button", onclick: close }, "Cancel")),
  );
  slot.replaceChildren(form);
  name.focus();
}

function editWebhook(w) {
  webhookForm(w);
}

async function removeWebhook(w) {
  if (!confirm("Remove the webhook “" + w.name + "”? Its pending deliveries are cancelled.")) return;
  await api("DELETE", webhookPath(w));
  if (state.logWebhook && state.logWebhook.id === w.id) closeLog();
  notice("Removed “" + w.name + "”.");
  await loadWebhooks();
}

async function activate(w, replayEvents) {
  const r = await api("POST", webhookPath(w) + "/activate", { replayEvents });
  notice("Activated “" + w.name + "”: " + r.replayed + " buffered event(s) delivered again, " + r.dropped + " dropped.");
  await loadWebhooks();
}

async function sendTest(w) {
  await api("POST", webhookPath(w) + "/test", {});
  notice("Sent a test event to “" + w.name + "”.");
  await openLog(w);
}

/* ---- delivery log ---- */

function shortDate(s) {
  return s ? s.replace("T", " ").replace(/\.\d+Z$/, "Z") : "";
}

function attemptItem(a) {
  const parts = ["#" + a.number, shortDate(a.date), a.outcome];
  if (a.statusCode !== null && a.statusCode !== undefined) parts.push("HTTP " + a.statusCode);
  if (a.durationMs !== undefined) parts.push(a.durationMs + " ms");
  const snippet = a.responseBody || a.error;
  return el(
    "li",
    {},
    parts.join(" · "),
    snippet ? el("code", { class: "snippet" }, snippet.length > 200 ? snippet.slice(0, 200) + "…" : snippet) : null,
  );
}

function deliveryRow(d) {
  const attempts = d.attempts.length ? el("ol", { class: "attempts" }, d.attempts.map(attemptItem)) : "no attempt yet";
  const next = d.nextAttemptDate ? el("div", { class: "hint" }, "next attempt " + shortDate(d.nextAttemptDate)) : null;
  return el(
    "tr",
    { "data-delivery-id": d.id },
    el("td", {}, shortDate(d.createdDate)),
    el("td", {}, d.eventType),
    el("td", {}, el("span", { class: "status " + d.status }, d.status), next),
    el("td", {}, attempts),
  );
}

async function loadLog() {
  const w = state.logWebhook;
  const all = await listAll(webhookPath(w) + "/deliveries", 100000);
  if (state.logWebhook !== w) return;
  const newest = all.slice(-LOG_SIZE).reverse();
  $("log-body").replaceChildren(
    newest.length === 0
      ? el("p", { class: "hint" }, "No deliveries yet.")
      : el(
          "table",
          {},
          el("thead", {}, el("tr", {}, ["Created", "Event", "Status", "Attempts"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, newest.map(deliveryRow)),
        ),
  );
  // Follow deliveries still on their way for a while (the first attempt is immediate).
  clearTimeout(state.logTimer);
  const waiting = newest.some((d) => d.status === "pending" && d.attempts.length === 0);
  if (waiting && Date.now() < state.logFollowUntil) {
    state.logTimer = setTimeout(() => guarded(loadLog), 500);
  }
}

async function openLog(w) {
  state.logWebhook = w;
  state.logFollowUntil = Date.now() + 30000;
  $("log-title").textContent = "Delivery log of " + w.name;
  $("log-body").replaceChildren(el("p", { class: "hint" }, "Loading…"));
  showSections();
  await loadLog();
}

function closeLog() {
  clearTimeout(state.logTimer);
  state.logWebhook = null;
  $("log-body").replaceChildren();
  showSections();
}

/* ---- wiring ---- */

document.addEventListener("DOMContentLoaded", () => {
  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    guarded(async () => {
      clearError();
      await signIn($("token").value.trim());
      $("token").value = "";
    });
  });
  $("sign-out").addEventListener("click", signOut);
  $("account-pick-form").addEventListener("submit", (e) => {
    e.preventDefault();
    guarded(() => openAccount($("account-select").value));
  });
  $("account-id-form").addEventListener("submit", (e) => {
    e.preventDefault();
    guarded(() => openAccount($("account-id").value.trim()));
  });
  $("create-webhook").addEventListener("click", () => webhookForm(null));
  $("reload-webhooks").addEventListener("click", () => guarded(loadWebhooks));
  $("log-refresh").addEventListener("click", () => {
    state.logFollowUntil = Date.now() + 30000;
    guarded(loadLog);
  });
  $("log-close").addEventListener("click", closeLog);

  const saved = sessionStorage.getItem(TOKEN_KEY);
  showSections();
  if (saved) {
    guarded(() => signIn(saved).catch((err) => {
      signOut();
      throw err;
    }));
  } else {
    $("token").focus();
  }
});
