/* hookd admin page: plain JavaScript, no build step, no dependencies.
 *
 * Everything that comes from the API is put into the page with textContent (through el()),
 * never parsed as HTML. Every text a person reads comes from hookd's catalogs (one per
 * language, /admin/<code>.ftl — the same files and message ids hookd uses for its own pages),
 * formatted here by a small Fluent formatter (the subset en.ftl's header describes). */
"use strict";

const TOKEN_KEY = "hookd.token";
const ACCOUNT_KEY = "hookd.account";
const LANGUAGE_KEY = "hookd.language";
const LOG_SIZE = 50;

const state = {
  token: null,
  isAdmin: false,
  accounts: [],
  account: null, // {id, name}
  webhooks: [],
  logWebhook: null,
  logTimer: null,
  portal: null, // in portal mode: {readOnly, expiresDate, ended}
};

const $ = (id) => document.getElementById(id);

/* ---- languages ---- */

const LANGUAGES = ["en", "de", "da", "nb", "pt"];
/* The locale for dates, numbers and plural rules: day-month order for English, and European
 * Portuguese (whose plural rules treat 0 as plural, as hookd's do). */
const INTL_LOCALES = { en: "en-GB", de: "de-DE", da: "da-DK", nb: "nb-NO", pt: "pt-PT" };

/* Plural rules, number and date formats of a locale. Dates show the browser's time zone. */
function intlFor(locale) {
  return {
    plural: new Intl.PluralRules(locale),
    number: new Intl.NumberFormat(locale),
    percent: new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }),
    date: new Intl.DateTimeFormat(locale, {
      year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
    }),
  };
}

const i18n = {
  lang: "en",
  messages: new Map(),
  english: new Map(),
  catalogs: new Map(), // code → parsed catalog
  ...intlFor(INTL_LOCALES.en),
};

/* One of the five languages for a BCP 47 tag, by the rules hookd's `negotiate` follows:
 * nb, no and nn choose Bokmål; pt-BR and pt-PT choose Portuguese; de-AT German. */
function languageOfTag(tag) {
  const primary = String(tag || "").trim().toLowerCase().split(/[-_]/)[0];
  if (primary === "no" || primary === "nn") return "nb";
  return LANGUAGES.includes(primary) ? primary : null;
}

function storedLanguage() {
  try {
    const code = localStorage.getItem(LANGUAGE_KEY);
    return LANGUAGES.includes(code) ? code : null;
  } catch (e) {
    return null;
  }
}

/* The person's pick in this page, else the browser's preferred languages, else English. */
function preferredLanguage() {
  const picked = storedLanguage();
  if (picked) return picked;
  for (const tag of navigator.languages || [navigator.language]) {
    const lang = languageOfTag(tag);
    if (lang) return lang;
  }
  return "en";
}

/* Parses the Fluent subset of the catalogs: messages whose value is one line of text with
 * `{ $var }` placeables, or one select expression on a number with one variant a line. */
function parseCatalog(source) {
  const messages = new Map();
  const lines = source.split(/\r?\n/);
  const unknown = (line) => console.warn("hookd: catalog line not understood:", line);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line.trim() === "" || line.startsWith("#")) continue;
    const m = /^([A-Za-z][A-Za-z0-9_-]*) *= *(.*)$/.exec(line);
    if (!m) {
      unknown(line);
      continue;
    }
    const select = /^\{ *\$([A-Za-z][A-Za-z0-9_-]*) *-> *$/.exec(m[2]);
    if (!select) {
      messages.set(m[1], { pattern: parsePattern(m[2]) });
      continue;
    }
    const variants = [];
    for (i++; i < lines.length && lines[i].trim() !== "}"; i++) {
      const v = /^ *(\*?)\[ *([^\]\s]+) *\] *(.*)$/.exec(lines[i]);
      if (v) variants.push({ isDefault: v[1] === "*", key: v[2], pattern: parsePattern(v[3]) });
      else unknown(lines[i]);
    }
    messages.set(m[1], { selector: select[1], variants });
  }
  return messages;
}

/* Text and `{ $var }` placeables, as a list of strings and {variable} parts. */
function parsePattern(text) {
  const parts = [];
  const placeable = /\{ *\$([A-Za-z][A-Za-z0-9_-]*) *\}/g;
  text = text.trim();
  let last = 0;
  let m;
  while ((m = placeable.exec(text)) !== null) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push({ variable: m[1] });
    last = placeable.lastIndex;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/* The variant for a number: an exact number key, else its plural category, in the order
 * written (the first match wins), else the default. */
function chooseVariant(message, value) {
  const n = Number(value);
  const category = typeof value === "number" ? i18n.plural.select(n) : null;
  const match = message.variants.find((v) =>
    /^-?[0-9]+(\.[0-9]+)?$/.test(v.key) ? typeof value === "number" && Number(v.key) === n : v.key === category || v.key === value,
  );
  return match || message.variants.find((v) => v.isDefault) || message.variants[0];
}

function formatDate(iso) {
  const date = new Date(iso);
  return iso && !Number.isNaN(date.getTime()) ? i18n.date.format(date) : String(iso || "");
}

/* A value for a placeable: numbers, {date} and {percent} formatted for the language, nodes as they are. */
function formatValue(value, name) {
  if (value === undefined || value === null) return "{$" + name + "}";
  if (value instanceof Node) return value;
  if (typeof value === "number") return i18n.number.format(value);
  if (typeof value === "object" && "date" in value) return formatDate(value.date);
  if (typeof value === "object" && "percent" in value) return i18n.percent.format(Number(value.percent));
  return String(value);
}

/* The message `id` as a list of strings and nodes; English when the language lacks it. */
function formatParts(id, args = {}) {
  const message = i18n.messages.get(id) || i18n.english.get(id);
  if (!message) return [id];
  const pattern = message.selector ? chooseVariant(message, args[message.selector]).pattern : message.pattern;
  return pattern.map((part) => (typeof part === "string" ? part : formatValue(args[part.variable], part.variable)));
}

/* The message `id` as plain text. */
function t(id, args) {
  return formatParts(id, args)
    .map((part) => (part instanceof Node ? part.textContent : part))
    .join("");
}

const hasMessage = (id) => i18n.english.has(id) || i18n.messages.has(id);

/* Placeables of the static page that are elements, not text. */
const NODE_ARGS = {
  "admin-token-hint": () => ({ example: el("code", {}, "hkd_…") }),
};

/* Fills a node marked with data-i18n (its text) and data-i18n-label (its aria-label), with
 * the JSON arguments of data-i18n-args / data-i18n-label-args; and data-i18n-date /
 * data-i18n-number values. */
function translateNode(node) {
  const d = node.dataset;
  if (d.i18n) {
    const args = Object.assign(d.i18nArgs ? JSON.parse(d.i18nArgs) : {}, NODE_ARGS[d.i18n] ? NODE_ARGS[d.i18n]() : {});
    node.replaceChildren(...formatParts(d.i18n, args));
  }
  if (d.i18nLabel) node.setAttribute("aria-label", t(d.i18nLabel, d.i18nLabelArgs ? JSON.parse(d.i18nLabelArgs) : {}));
  if (d.i18nPlaceholder) node.placeholder = t(d.i18nPlaceholder);
  if (d.i18nDate !== undefined) node.textContent = formatDate(d.i18nDate);
  if (d.i18nNumber !== undefined) node.textContent = i18n.number.format(Number(d.i18nNumber));
}

function translateAll() {
  for (const node of document.querySelectorAll("[data-i18n], [data-i18n-label], [data-i18n-placeholder], [data-i18n-date], [data-i18n-number]")) {
    translateNode(node);
  }
}

/* Makes `node` show the message `id` from now on, in whichever language is chosen. */
function setText(node, id, args) {
  node.dataset.i18n = id;
  if (args) node.dataset.i18nArgs = JSON.stringify(args);
  else delete node.dataset.i18nArgs;
  translateNode(node);
}

/* Makes `node`'s placeholder the message `id` (kept in the chosen language), or none. */
function setPlaceholder(node, id) {
  if (id) {
    node.dataset.i18nPlaceholder = id;
    translateNode(node);
  } else {
    delete node.dataset.i18nPlaceholder;
    node.placeholder = "";
  }
}

function clearText(node) {
  delete node.dataset.i18n;
  delete node.dataset.i18nArgs;
  node.replaceChildren();
}

async function loadCatalog(lang) {
  if (!i18n.catalogs.has(lang)) {
    const response = await fetch("/admin/" + lang + ".ftl", { cache: "no-cache" });
    if (!response.ok) throw new Error("catalog " + lang + ": HTTP " + response.status);
    i18n.catalogs.set(lang, parseCatalog(await response.text()));
  }
  return i18n.catalogs.get(lang);
}

/* Switches the page to `lang`: loads its catalog, re-renders every text. */
async function setLanguage(lang, remember) {
  if (!LANGUAGES.includes(lang)) lang = "en";
  const [english, messages] = await Promise.all([loadCatalog("en"), loadCatalog(lang)]);
  Object.assign(i18n, { lang, english, messages, ...intlFor(INTL_LOCALES[lang]) });
  if (remember) {
    try {
      localStorage.setItem(LANGUAGE_KEY, lang);
    } catch (e) {
      /* not remembered: private mode */
    }
  }
  document.documentElement.lang = lang;
  $("language").value = lang;
  translateAll();
}

/* Builds an element; string children become text nodes, attributes are set as properties.
 * `i18n: [id, args]` gives it the text of a message, `i18nLabel: [id, args]` its aria-label,
 * `i18nDate` a date and `i18nNumber` a number, all kept in the chosen language. */
function el(tag, props, ...children) {
  const node = document.createElement(tag);
  let translated = false;
  for (const [key, value] of Object.entries(props || {})) {
    if (key === "class") node.className = value;
    else if (key === "i18n" || key === "i18nLabel") {
      const [id, args] = Array.isArray(value) ? value : [value];
      node.dataset[key] = id;
      if (args) node.dataset[key + "Args"] = JSON.stringify(args);
      translated = true;
    } else if (key === "i18nDate" || key === "i18nNumber") {
      node.dataset[key] = String(value);
      translated = true;
    } else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "role" || key.startsWith("aria-") || key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  if (translated) translateNode(node);
  return node;
}

/* A span showing the message `id`. */
const msg = (id, args) => el("span", { i18n: [id, args] });

/* ---- talking to the API ---- */

class ApiError extends Error {
  constructor(status, problem) {
    const p = problem && typeof problem === "object" ? problem : {};
    super(p.detail || p.title || "HTTP " + status);
    this.status = status;
    this.problem = p;
  }
}

/* An error of the page itself, told with a message of the catalogs. */
class PageError extends Error {
  constructor(id, args, detail) {
    super(id);
    this.id = id;
    this.args = args;
    this.detail = detail;
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
    throw new PageError("admin-network-error", null, ["admin-network-error-detail", { error: e.message }]);
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
    if (response.status === 401 && state.portal) portalEnded();
    else if (response.status === 401 && state.account) expired();
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

/* The title of a problem, translated by its type; the API's own title for a type this page
 * does not know. */
function problemTitle(p) {
  const id = typeof p.type === "string" ? "problem-" + p.type.replace(/^\/problems\//, "") : null;
  if (id && hasMessage(id)) return el("strong", { i18n: id });
  return p.title ? el("strong", {}, p.title) : el("strong", { i18n: "admin-error" });
}

/* The nodes that explain an error: the problem's title, and the API's detail and field errors
 * (the API speaks English; its words are quoted as sent). */
function problemNodes(err) {
  const p = err.problem || {};
  const title = problemTitle(p);
  if (Array.isArray(p.errors) && p.errors.length) {
    return [title, el("ul", {}, p.errors.map((e) => el("li", {}, (e.field ? e.field + ": " : "") + (e.message || ""))))];
  }
  return [title, p.detail ? " — " + p.detail : ""];
}

function errorNodes(err) {
  if (err instanceof ApiError) return problemNodes(err);
  if (err instanceof PageError) {
    const nodes = [el(err.detail ? "strong" : "span", { i18n: [err.id, err.args] })];
    if (err.detail) nodes.push(" — ", msg(...err.detail));
    return nodes;
  }
  return [String(err.message || err)];
}

function showError(err, box = $("error")) {
  if (state.portal && state.portal.ended) return; // the page says so instead
  box.replaceChildren(...errorNodes(err));
  box.hidden = false;
  if (box === $("error")) $("notice").replaceChildren();
}

function clearError(box = $("error")) {
  box.replaceChildren();
  box.hidden = true;
}

/* Shows the message `id` as the outcome of an action. */
function notice(id, args) {
  clearError();
  $("notice").replaceChildren(msg(id, args));
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
  const who = [];
  if (signedIn) {
    who.push(msg(state.isAdmin ? "admin-signed-in-admin" : "admin-signed-in-account"));
    if (state.account) who.push(" · ", msg("admin-current-account", { name: state.account.name, id: state.account.id }));
  }
  $("who").replaceChildren(...who);
  showAccountHolderParts();
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
  $("notice").replaceChildren();
  showSections();
  $("token").focus();
}

/* The token stopped working while signed in (revoked, or the admin token changed). */
function expired() {
  signOut();
  showError(new PageError("admin-token-expired"));
}

async function openAccount(id) {
  closeLog();
  $("webhook-form-slot").replaceChildren();
  const account = await api("GET", "/v1/accounts/" + enc(id));
  state.account = { id: account.id, name: account.name };
  sessionStorage.setItem(ACCOUNT_KEY, account.id);
  setText($("webhooks-title"), "admin-webhooks-of", { account: account.name });
  showSections();
  await loadWebhooks();
}

/* ---- webhooks ---- */

async function loadWebhooks() {
  state.webhooks = await listAll(accountPath() + "/webhooks", 10000);
  $("webhook-rows").replaceChildren(...state.webhooks.map(webhookRow));
  $("no-webhooks").hidden = state.webhooks.length > 0;
}

function statusNodes(w) {
  const status = msg("status-" + w.status);
  return w.enabled ? [status] : [status, ", ", msg("status-disabled")];
}

/* Why a webhook was deactivated. The API states it in English in one of two shapes (hookd
 * reads them the same way for its notifications); each is told in the page's language with
 * the last error quoted as it is. Anything else is shown as sent. */
function reasonNode(reason) {
  if (reason === "the endpoint answered 410 Gone") return el("div", { class: "hint", i18n: "reason-gone" });
  const m = /^(\d+) failed attempts in a row since (\S*); the last: ([\s\S]*)$/.exec(reason);
  if (!m) return el("div", { class: "hint" }, reason);
  const args = { count: Number(m[1]), since: { date: m[2] }, error: m[3] };
  return el("div", { class: "hint", i18n: ["reason-failures", args] });
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
    el("button", { type: "button", i18n: label, onclick: () => { details.open = false; guarded(run); } });
  // A read-only portal session is offered no change at all.
  const changes = canChange();
  const menu = el(
    "div",
    { class: "menu" },
    changes && item("admin-update", async () => editWebhook(w)),
    changes && item("admin-remove", () => removeWebhook(w)),
    changes && item("admin-send-test", () => sendTest(w)),
    changes && w.status !== "deactivated" && item("admin-replay", async () => replayForm(w)),
    item("admin-delivery-log", () => openLog(w)),
  );
  const buffer = w.status === "deactivated" ? bufferedParts(w, item) : null;
  if (buffer && changes) menu.append(buffer.block);
  details.append(el("summary", { i18n: "admin-actions", i18nLabel: ["admin-actions-for", { webhook: w.name }] }), menu);
  const reason = w.deactivationReason ? reasonNode(w.deactivationReason) : null;
  return el(
    "tr",
    { "data-webhook-id": w.id },
    el("td", {}, w.name),
    el("td", { class: "url" }, w.eventUrl),
    el("td", {}, (w.eventList || []).join(", ")),
    el("td", {}, el("span", { class: "status " + w.status }, statusNodes(w)), reason, buffer && buffer.note),
    el("td", { class: "num", i18nNumber: w.failureCount }),
    healthCell(w),
    el("td", {}, details),
  );
}

/* The create / update form. `w` is the webhook being edited, or null to create one. */
function webhookForm(w) {
  const editing = w !== null;
  const slot = $("webhook-form-slot");
  const errorBox = el("div", { class: "error", role: "alert", hidden: true });
  const field = (id, label, input) => el("div", { class: "field" }, el("label", { htmlFor: id, i18n: label }), input);
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
  const receiver = receiverFields(field);
  const version = el("p", { class: "hint" });
  let current = w;
  const fill = (hook) => {
    current = hook;
    name.value = hook ? hook.name : "";
    enabled.checked = hook ? hook.enabled : true;
    events.value = hook ? hook.eventList.join("\n") : "";
    url.value = hook ? hook.eventUrl : "";
    receiver.fill(hook);
    if (hook) setText(version, "admin-version", { version: hook.version });
    else clearText(version);
  };
  fill(w);

  const close = () => slot.replaceChildren();
  const reload = el("button", { type: "button", hidden: true, i18n: "admin-reload" });
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
      ...receiver.body(),
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
        notice("admin-saved", { name: saved.name, version: saved.version });
      } else {
        const created = await api("POST", "/v1/accounts/" + enc(account.value) + "/webhooks", body);
        notice("admin-created", { name: created.name });
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
        showError(new PageError("admin-version-conflict", { version: now ? Number(now[0]) : "?" }), errorBox);
        reload.hidden = false;
      } else {
        showError(err, errorBox);
      }
    }
  };

  const form = el(
    "form",
    { class: "webhook-form", noValidate: true, onsubmit: (e) => { e.preventDefault(); save(); } },
    el("h3", { i18n: editing ? "admin-form-update" : "admin-form-create" }),
    field("wh-name", "field-name", name),
    el("div", { class: "field check" }, enabled, el("label", { htmlFor: "wh-enabled", i18n: "admin-enabled" })),
    field("wh-account", "admin-account", account),
    field("wh-events", "admin-events-hint", events),
    field("wh-url", "field-url", url),
    ...receiver.nodes,
    version,
    errorBox,
    el(
      "div",
      { class: "buttons" },
      el("button", { type: "submit", i18n: "admin-save" }),
      reload,
      el("button", { type: "button", onclick: close, i18n: "admin-cancel" }),
    ),
  );
  slot.replaceChildren(form);
  name.focus();
}

/* The receiver-side inputs of the webhook form: how hookd authenticates (the type and its
 * inputs; secrets are write-only, so they start empty and an empty one keeps the stored
 * secret of the same type), the filter, the body template and the signature scheme. */
function receiverFields(field) {
  const input = (id, type = "text") => el("input", { id, type, autocomplete: "off" });
  const area = (id, rows) => el("textarea", { id, rows, spellcheck: false });
  const choice = (id, values, prefix) =>
    el("select", { id }, values.map((v) => el("option", { value: v, i18n: prefix + v.replace(/ /g, "-") })));
  const authType = choice("wh-auth-type", ["none", "basic", "bearer", "oauth2", "mtls"], "admin-auth-");
  const inputs = {
    username: input("wh-auth-username"),
    password: input("wh-auth-password", "password"),
    token: input("wh-auth-token", "password"),
    tokenUrl: input("wh-auth-token-url", "url"),
    clientId: input("wh-auth-client-id"),
    clientSecret: input("wh-auth-client-secret", "password"),
    scope: input("wh-auth-scope"),
    audience: input("wh-auth-audience"),
    certificate: area("wh-auth-certificate", 4),
    privateKey: area("wh-auth-private-key", 4),
  };
  const labels = {
    username: "admin-auth-username", password: "admin-auth-password", token: "admin-auth-token",
    tokenUrl: "admin-auth-token-url", clientId: "admin-auth-client-id", clientSecret: "admin-auth-client-secret",
    scope: "admin-auth-scope", audience: "admin-auth-audience", certificate: "admin-auth-certificate",
    privateKey: "admin-auth-private-key",
  };
  const members = {
    none: [], basic: ["username", "password"], bearer: ["token"],
    oauth2: ["tokenUrl", "clientId", "clientSecret", "scope", "audience"], mtls: ["certificate", "privateKey"],
  };
  const secrets = { basic: "password", bearer: "token", oauth2: "clientSecret", mtls: "privateKey" };
  const wrappers = {};
  for (const [key, node] of Object.entries(inputs)) wrappers[key] = field(node.id, labels[key], node);
  const certificateFacts = el("p", { class: "hint" });
  const filter = area("wh-filter", 2);
  filter.placeholder = "data.total_cents >= 10000";
  const template = choice("wh-template", ["none", "slack", "discord", "body"], "admin-template-");
  const templateBody = area("wh-template-body", 5);
  const contentType = input("wh-content-type");
  const bodyFields = [field("wh-template-body", "admin-template-body-text", templateBody), field("wh-content-type", "admin-template-content-type", contentType)];
  const signature = choice("wh-signature", ["v1", "v1a", "v1 v1a"], "admin-signature-");
  let stored = null; // the webhook's auth as read (without its secrets)

  const show = () => {
    const kind = authType.value;
    for (const [key, wrapper] of Object.entries(wrappers)) wrapper.hidden = !members[kind].includes(key);
    for (const [type, key] of Object.entries(secrets)) {
      // An empty secret keeps the stored one of the same type: its placeholder says so.
      setPlaceholder(inputs[key], stored !== null && stored.type === type ? "admin-unchanged" : null);
    }
    certificateFacts.hidden = !(kind === "mtls" && stored && stored.type === "mtls");
    for (const f of bodyFields) f.hidden = template.value !== "body";
  };
  authType.addEventListener("change", show);
  template.addEventListener("change", show);

  const fill = (hook) => {
    stored = hook && hook.auth ? hook.auth : null;
    authType.value = stored ? stored.type : "none";
    for (const [key, node] of Object.entries(inputs)) {
      node.value = stored && typeof stored[key] === "string" && !Object.values(secrets).includes(key) ? stored[key] : "";
    }
    if (stored && stored.type === "mtls") {
      setText(certificateFacts, "admin-certificate-facts", {
        subject: stored.certificateSubject,
        date: { date: stored.certificateNotAfter },
      });
    } else clearText(certificateFacts);
    filter.value = hook && hook.filter ? hook.filter : "";
    const t = hook && hook.template;
    template.value = !t ? "none" : t.preset ? t.preset : "body";
    templateBody.value = t && t.body ? t.body : "";
    contentType.value = t && t.contentType ? t.contentType : "application/json";
    signature.value = hook && hook.signature ? hook.signature : "v1";
    show();
  };

  /* The API members of what the inputs say. */
  const body = () => {
    const kind = authType.value;
    let auth = null;
    if (kind !== "none") {
      auth = { type: kind };
      for (const key of members[kind]) {
        const value = key === "tokenUrl" ? inputs[key].value.trim() : inputs[key].value;
        if (key === secrets[kind] && value === "") continue; // kept, or required: the API says
        auth[key] = value === "" && (key === "scope" || key === "audience") ? null : value;
      }
    }
    let chosen = null;
    if (template.value === "body") chosen = { body: templateBody.value, contentType: contentType.value.trim() || "application/json" };
    else if (template.value !== "none") chosen = { preset: template.value };
    return { auth, filter: filter.value.trim() || null, template: chosen, signature: signature.value };
  };

  const nodes = [
    field("wh-auth-type", "admin-auth", authType),
    ...Object.values(wrappers),
    certificateFacts,
    field("wh-filter", "admin-filter", filter),
    field("wh-template", "admin-template", template),
    ...bodyFields,
    field("wh-signature", "admin-signature", signature),
  ];
  return { nodes, fill, body };
}

function editWebhook(w) {
  webhookForm(w);
}

async function removeWebhook(w) {
  if (!confirm(t("admin-confirm-remove", { name: w.name }))) return;
  await api("DELETE", webhookPath(w));
  if (state.logWebhook && state.logWebhook.id === w.id) closeLog();
  notice("admin-removed", { name: w.name });
  await loadWebhooks();
}

async function activate(w, replayEvents) {
  const r = await api("POST", webhookPath(w) + "/activate", { replayEvents });
  if (replayEvents) notice("admin-activated-replayed", { name: w.name, count: r.replayed });
  else notice("admin-activated-dropped", { name: w.name, count: r.dropped });
  await loadWebhooks();
}

/* Sends a test event: shows the body the receiver gets (rendered when the webhook has a
 * template), then the receiver's answer once the attempt is made. */
async function sendTest(w) {
  const sent = await api("POST", webhookPath(w) + "/test", {});
  notice("admin-test-sent", { name: w.name });
  const result = el("div", { class: "test-result" });
  if (typeof sent.body === "string") {
    result.append(el("div", {}, msg("admin-test-body", { type: sent.contentType })), el("code", { class: "snippet" }, sent.body));
  }
  const answer = el("div", {}, msg("admin-test-waiting"));
  result.append(answer);
  $("notice").append(result);
  await openLog(w);
  for (let i = 0; i < 40; i++) {
    const d = await api("GET", accountPath() + "/deliveries/" + enc(sent.deliveryId));
    if (d.attempts.length) {
      answer.replaceChildren(msg("admin-test-answer"), el("ol", { class: "attempts" }, attemptItem(d.attempts[d.attempts.length - 1])));
      return;
    }
    await new Promise((done) => setTimeout(done, 500));
  }
}

/* ---- delivery log ---- */

/* Items joined by " · ". */
function dotted(items) {
  return items.flatMap((item, i) => (i === 0 ? [item] : [" · ", item]));
}

function attemptItem(a) {
  const parts = [msg("admin-attempt", { number: a.number }), el("span", { i18nDate: a.date }), msg("outcome-" + String(a.outcome).replace(/_/g, "-"))];
  if (a.statusCode !== null && a.statusCode !== undefined) parts.push("HTTP " + a.statusCode);
  if (a.durationMs !== undefined) parts.push(msg("admin-duration", { ms: a.durationMs }));
  const snippet = a.responseBody || a.error;
  return el(
    "li",
    {},
    dotted(parts),
    snippet ? el("code", { class: "snippet" }, snippet.length > 200 ? snippet.slice(0, 200) + "…" : snippet) : null,
  );
}

function deliveryRow(d) {
  const attempts = d.attempts.length ? el("ol", { class: "attempts" }, d.attempts.map(attemptItem)) : msg("admin-no-attempt");
  const next = d.nextAttemptDate ? el("div", { class: "hint", i18n: ["admin-next-attempt", { date: { date: d.nextAttemptDate } }] }) : null;
  return el(
    "tr",
    { "data-delivery-id": d.id },
    el("td", { i18nDate: d.createdDate }),
    el("td", {}, d.eventType),
    el("td", {}, el("span", { class: "status " + d.status, i18n: "delivery-" + d.status }), next),
    el("td", {}, attempts),
  );
}

async function loadLog() {
  const w = state.logWebhook;
  const all = await listAll(webhookPath(w) + "/deliveries", 100000);
  if (state.logWebhook !== w) return;
  const newest = all.slice(-LOG_SIZE).reverse();
  const headings = ["admin-created-column", "admin-event", "field-status", "admin-attempts"];
  $("log-body").replaceChildren(
    newest.length === 0
      ? el("p", { class: "hint", i18n: "admin-no-deliveries" })
      : el(
          "table",
          {},
          el("thead", {}, el("tr", {}, headings.map((h) => el("th", { scope: "col", i18n: h })))),
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
  setText($("log-title"), "admin-log-of", { webhook: w.name });
  $("log-body").replaceChildren(el("p", { class: "hint", i18n: "admin-loading" }));
  showSections();
  await loadLog();
}

function closeLog() {
  clearTimeout(state.logTimer);
  state.logWebhook = null;
  $("log-body").replaceChildren();
  showSections();
}

/* ---- portal mode: one account, opened with a portal link ---- */

/* A portal link is `<public_url>/portal/<linkToken>`; hookd serves this same page there. */
const PORTAL_PREFIX = "/portal/";
/* The portal session token of this tab (like the admin page's token: never a cookie, never
 * localStorage). */
const PORTAL_SESSION_KEY = "hookd.portal.session";

/* Whether this session may change anything: everything but a read-only portal session. */
function canChange() {
  return !(state.portal && state.portal.readOnly);
}

/* Trades the link in the address for a session of this tab, then shows its account. */
async function openPortal() {
  let response;
  try {
    response = await fetch(location.pathname, { method: "POST", headers: { Accept: "application/json" }, cache: "no-store" });
  } catch (e) {
    throw new PageError("admin-network-error", null, ["admin-network-error-detail", { error: e.message }]);
  }
  if (response.status === 404) return portalEnded("portal-invalid-title", "portal-invalid-text");
  if (response.status === 410) return portalEnded();
  let session = null;
  try {
    session = await response.json();
  } catch (e) {
    session = null;
  }
  if (!response.ok) throw new ApiError(response.status, session);
  sessionStorage.setItem(PORTAL_SESSION_KEY, session.sessionToken);
  state.token = session.sessionToken;
  state.portal = { readOnly: session.readOnly === true, expiresDate: session.expiresDate, ended: false };
  state.account = { id: session.accountId, name: session.accountName };
  setText(document.querySelector("title"), "portal-title", { account: session.accountName });
  setText($("webhooks-title"), "admin-webhooks-of", { account: session.accountName });
  showSections();
  await loadWebhooks();
}

/* The link stopped working (expired or revoked: the API answers 401), or never did: the page
 * says so in place of the account, and forgets the session. */
function portalEnded(title = "portal-ended-title", text = "portal-ended-text") {
  clearTimeout(state.logTimer);
  state.logWebhook = null;
  state.token = null;
  state.webhooks = [];
  state.portal = Object.assign(state.portal || { readOnly: true }, { ended: true });
  sessionStorage.removeItem(PORTAL_SESSION_KEY);
  setText($("portal-ended-title"), title);
  setText($("portal-ended-text"), text);
  $("webhook-rows").replaceChildren();
  $("webhook-form-slot").replaceChildren();
  $("log-body").replaceChildren();
  clearError();
  $("notice").replaceChildren();
  showSections();
}

/* What showSections adds for portal mode (one account, no sign-in, no account choice) and for
 * the portal links of the admin view. */
function showAccountHolderParts() {
  const portal = state.portal;
  $("portal-link").hidden = portal !== null || !state.account;
  if (state.account && !portal) setText($("portal-link"), "admin-portal-link-for", { account: state.account.name });
  $("portal-ended").hidden = !(portal && portal.ended);
  const slot = $("portal-link-slot");
  if (portal || !state.account || slot.dataset.account !== state.account.id) {
    slot.replaceChildren();
    delete slot.dataset.account;
  }
  if (!portal) return;
  for (const id of ["sign-in", "sign-out", "account"]) $(id).hidden = true;
  $("create-webhook").hidden = !canChange();
  if (portal.ended) {
    $("webhooks").hidden = true;
    $("log").hidden = true;
  }
  const who = [];
  if (state.account) who.push(msg("portal-who", { account: state.account.name }));
  if (portal.readOnly) who.push(msg("portal-read-only"));
  if (portal.expiresDate && !portal.ended) who.push(msg("portal-until", { date: { date: portal.expiresDate } }));
  $("who").replaceChildren(...dotted(who));
}

/* ---- portal links (admin view) ---- */

/* Asks how long a new portal link for the open account lasts and whether it only reads;
 * creates it and shows it to copy (hookd shows the URL this once). */
function portalLinkForm() {
  const slot = $("portal-link-slot");
  const account = state.account;
  const errorBox = el("div", { class: "error", role: "alert", hidden: true });
  const expires = el(
    "select",
    { id: "pl-expires" },
    [["1h", "portal-link-1h"], ["1d", "portal-link-1d"], ["7d", "portal-link-7d"]].map(([value, id]) => el("option", { value, i18n: id })),
  );
  const readOnly = el("input", { id: "pl-read-only", type: "checkbox" });
  const result = el("div", { class: "portal-link-result" });
  const close = () => slot.replaceChildren();
  const create = async () => {
    clearError(errorBox);
    result.replaceChildren();
    try {
      const link = await api("POST", "/v1/accounts/" + enc(account.id) + "/portal-links", {
        expiresIn: expires.value,
        readOnly: readOnly.checked,
      });
      result.replaceChildren(...portalLinkResult(link));
      $("pl-url").select();
    } catch (err) {
      showError(err, errorBox);
    }
  };
  const form = el(
    "form",
    { class: "portal-link-form", noValidate: true, onsubmit: (e) => { e.preventDefault(); create(); } },
    el("h3", { i18n: ["portal-link-title", { account: account.name }] }),
    el("label", { htmlFor: "pl-expires", i18n: "portal-link-expires" }),
    expires,
    el("span", { class: "check" }, readOnly, el("label", { htmlFor: "pl-read-only", i18n: "portal-link-read-only" })),
    el("div", { class: "buttons" }, el("button", { type: "submit", i18n: "portal-link-create" }), el("button", { type: "button", onclick: close, i18n: "admin-close" })),
    errorBox,
    result,
  );
  slot.replaceChildren(form);
  slot.dataset.account = account.id;
  expires.focus();
}

/* The new link in a read-only field with a Copy button, and what it allows until when. */
function portalLinkResult(link) {
  const url = el("input", { id: "pl-url", type: "text", readOnly: true, value: link.url, spellcheck: false });
  const status = el("span", { class: "hint", role: "status" });
  const made = link.readOnly ? "portal-link-made-read-only" : "portal-link-made";
  return [
    el("label", { htmlFor: "pl-url", i18n: "portal-link-url" }),
    url,
    el("button", { type: "button", id: "pl-copy", i18n: "portal-link-copy", onclick: () => copyLink(url, status) }),
    status,
    el("p", { class: "hint", i18n: [made, { date: { date: link.expiresDate } }] }),
  ];
}

/* Copies the link with the Clipboard API; where that is refused (a page not served over HTTPS
 * or from localhost), selects it for the person to copy. */
async function copyLink(input, status) {
  try {
    await navigator.clipboard.writeText(input.value);
    setText(status, "portal-link-copied");
  } catch (e) {
    input.focus();
    input.select();
    setText(status, "portal-link-copy-by-hand");
  }
}

/* ---- replay since a time ---- */

/* The value of a datetime-local input for `date`, in the browser's time zone. */
function localDateTimeValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return date.getFullYear() + "-" + pad(date.getMonth() + 1) + "-" + pad(date.getDate()) + "T" + pad(date.getHours()) + ":" + pad(date.getMinutes());
}

const REPLAY_STATUSES = ["failed", "expired", "succeeded", "cancelled"];

/* "Resend failed deliveries since …": a time (24 hours ago by default, in local time, sent as
 * UTC) and the statuses to send again (failed by default). */
function replayForm(w) {
  const slot = $("webhook-form-slot");
  const errorBox = el("div", { class: "error", role: "alert", hidden: true });
  const since = el("input", { id: "replay-since", type: "datetime-local", required: true });
  since.value = localDateTimeValue(new Date(Date.now() - 24 * 3600 * 1000));
  since.max = localDateTimeValue(new Date());
  const boxes = REPLAY_STATUSES.map((status) => el("input", { type: "checkbox", id: "replay-status-" + status, value: status, checked: status === "failed" }));
  const close = () => slot.replaceChildren();
  const send = async () => {
    clearError(errorBox);
    const start = new Date(since.value);
    const status = boxes.filter((b) => b.checked).map((b) => b.value);
    try {
      if (!since.value || Number.isNaN(start.getTime())) throw new PageError("replay-no-since");
      if (status.length === 0) throw new PageError("replay-no-status");
      const r = await api("POST", webhookPath(w) + "/replay", { since: start.toISOString(), status });
      close();
      notice("replay-scheduled", { webhook: w.name, count: r.scheduled });
      if (state.logWebhook && state.logWebhook.id === w.id) {
        state.logFollowUntil = Date.now() + 30000;
        await loadLog();
      }
    } catch (err) {
      showError(err, errorBox);
    }
  };
  const form = el(
    "form",
    { class: "webhook-form replay-form", noValidate: true, onsubmit: (e) => { e.preventDefault(); send(); } },
    el("h3", { i18n: ["replay-title", { webhook: w.name }] }),
    el("div", { class: "field" }, el("label", { htmlFor: since.id, i18n: "replay-since" }), since),
    el(
      "div",
      { class: "field" },
      el("span", { id: "replay-statuses", class: "label", i18n: "replay-statuses" }),
      el(
        "div",
        { class: "statuses", role: "group", "aria-labelledby": "replay-statuses" },
        boxes.map((box) => el("span", { class: "check" }, box, el("label", { htmlFor: box.id, i18n: "delivery-" + box.value }))),
      ),
    ),
    el("p", { class: "hint", i18n: "replay-hint" }),
    errorBox,
    el("div", { class: "buttons" }, el("button", { type: "submit", i18n: "replay-submit" }), el("button", { type: "button", onclick: close, i18n: "admin-cancel" })),
  );
  slot.replaceChildren(form);
  since.focus();
}

/* ---- health: the last 24 hours of a webhook ---- */

const SVG_NS = "http://www.w3.org/2000/svg";
const CHART = { bar: 5, gap: 1, height: 28 };

/* An SVG element with attributes (never a style: the page's CSP allows none inline). */
function svg(tag, attributes, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/* The row's health cell; filled once the webhook's stats arrive. */
function healthCell(w) {
  const cell = el("td", { class: "health" }, el("span", { class: "hint", i18n: "admin-loading" }));
  api("GET", webhookPath(w) + "/stats?window=24h").then(
    (stats) => cell.replaceChildren(...healthNodes(stats)),
    () => cell.replaceChildren(el("span", { class: "hint", i18n: "health-unavailable" })),
  );
  return cell;
}

function healthNodes(stats) {
  if (!stats.attempts) return [el("span", { class: "hint", i18n: "health-no-attempts" })];
  const figures = [msg("health-rate", { rate: { percent: stats.successRate } })];
  if (stats.latencyMs) figures.push(msg("health-p95", { ms: stats.latencyMs.p95 }));
  return [healthChart(stats), el("div", { class: "health-figures" }, figures)];
}

/* Succeeded (bottom) and failed (top) attempts of each hour as stacked bars, scaled to the
 * busiest hour; a bar with any attempt is at least one pixel tall. */
function healthChart(stats) {
  const { bar, gap, height } = CHART;
  const buckets = stats.buckets || [];
  const width = buckets.length * (bar + gap);
  const busiest = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed));
  const scale = (n) => (n > 0 ? Math.max(1, Math.round((n / busiest) * height)) : 0);
  const summary = { attempts: stats.attempts, succeeded: stats.succeeded, failed: stats.failed };
  const title = svg("title");
  title.dataset.i18n = "health-summary";
  title.dataset.i18nArgs = JSON.stringify(summary);
  const chart = svg("svg", { class: "chart", role: "img", width, height: height + 1, viewBox: "0 0 " + width + " " + (height + 1) }, title);
  chart.dataset.i18nLabel = "health-summary";
  chart.dataset.i18nLabelArgs = JSON.stringify(summary);
  chart.append(svg("rect", { class: "chart-base", x: 0, y: height, width, height: 1 }));
  buckets.forEach((b, i) => {
    const x = i * (bar + gap);
    let ok = scale(b.succeeded);
    let bad = scale(b.failed);
    if (ok + bad > height) {
      if (ok > bad) ok = height - bad;
      else bad = height - ok;
    }
    if (ok) chart.append(svg("rect", { class: "bar-ok", x, y: height - ok, width: bar, height: ok, "data-count": b.succeeded, "data-start": b.start }));
    if (bad) chart.append(svg("rect", { class: "bar-bad", x, y: height - ok - bad, width: bar, height: bad, "data-count": b.failed, "data-start": b.start }));
  });
  translateNode(title);
  translateNode(chart);
  return chart;
}

/* ---- activating with buffered deliveries ---- */

/* How many deliveries a deactivated webhook holds buffered, counted up to `cap`. */
async function countBuffered(w, cap = 1000) {
  let count = 0;
  let cursor = null;
  do {
    const page = await api("GET", webhookPath(w) + "/deliveries?status=buffered&limit=200" + (cursor ? "&cursor=" + enc(cursor) : ""));
    count += page.items.length;
    cursor = page.nextCursor;
  } while (cursor && count < cap);
  return { count: Math.min(count, cap), more: Boolean(cursor) };
}

/* For a deactivated webhook: a note of how many events it holds (for the status cell), and
 * the activation controls (for its menu): "deliver the N buffered events", chosen by default;
 * activating without them asks first, since they are then dropped. */
function bufferedParts(w, item) {
  const note = el("div", { class: "hint buffered" });
  const box = el("input", { type: "checkbox", id: "replay-" + w.id, checked: true });
  const label = el("label", { htmlFor: box.id, i18n: "admin-deliver-buffered" });
  const choice = el("span", { class: "check", hidden: true }, box, label);
  let buffered = null;
  const button = item("admin-activate", async () => {
    if (buffered && buffered.count === 0) return activate(w, true);
    if (!box.checked && !confirm(confirmDropText(w, buffered))) return;
    await activate(w, box.checked);
  });
  countBuffered(w).then(
    (counted) => {
      buffered = counted;
      if (counted.count === 0) return;
      const args = { count: counted.count };
      setText(note, counted.more ? "admin-buffered-many" : "admin-buffered", args);
      setText(label, counted.more ? "admin-deliver-buffered-many" : "admin-deliver-buffered-count", args);
      choice.hidden = false;
    },
    () => {
      choice.hidden = false; // not counted: the choice without a number
    },
  );
  return { note, block: el("div", { class: "activate" }, choice, button) };
}

function confirmDropText(w, buffered) {
  if (!buffered) return t("admin-confirm-drop-unknown", { name: w.name });
  return t(buffered.more ? "admin-confirm-drop-many" : "admin-confirm-drop", { name: w.name, count: buffered.count });
}

/* ---- wiring ---- */

document.addEventListener("DOMContentLoaded", async () => {
  $("sign-in-form").addEventListener("submit", (e) => {
    e.preventDefault();
    guarded(async () => {
      clearError();
      await signIn($("token").value.trim());
      $("token").value = "";
    });
  });
  $("sign-out").addEventListener("click", signOut);
  $("language").addEventListener("change", () => guarded(() => setLanguage($("language").value, true)));
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

  // The language first, so that nothing shows in another one; the page's own English text
  // stays if the catalogs cannot be had.
  try {
    await setLanguage(preferredLanguage(), false);
  } catch (err) {
    console.error("hookd: no catalog:", err);
  }
  document.documentElement.classList.remove("i18n-pending");

  $("portal-link").addEventListener("click", portalLinkForm);
  if (location.pathname.startsWith(PORTAL_PREFIX)) {
    guarded(openPortal);
    return;
  }
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
