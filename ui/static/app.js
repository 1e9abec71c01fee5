// Cohort's web UI: plain JavaScript over the JSON API at /api/v1.
// This file holds the helpers every page uses, sign-in and the routing;
// each page has its own file (segments.js, syncs.js, profiles.js,
// results.js) and charts are drawn by chart.js. Pages are chosen by the
// URL's #fragment; every text from the server goes into the page as text
// (never as HTML).
"use strict";

const state = { me: null, catalog: null };

// ---- small helpers -------------------------------------------------------

// h builds an element: h("div", {class: "x", onclick: f}, child, "text", ...)
function h(tag, attrs, ...children) {
  const svg = tag.startsWith("svg:");
  const el = document.createElementNS(svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag.replace(/^svg:/, ""));
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// put replaces the children of el, leaving out null, undefined and false.
function put(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false));
}

function fmtNum(n) { return n === undefined || n === null ? "–" : Number(n).toLocaleString("en-US"); }
function fmtPct(x, digits) { return x === undefined || x === null || isNaN(x) ? "–" : (x * 100).toFixed(digits === undefined ? 1 : digits) + "%"; }
function fmtTime(s) {
  if (!s) return "–";
  const d = s instanceof Date ? s : new Date(s);
  if (isNaN(d)) return String(s);
  return d.toLocaleString("en-GB", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
}
function fmtDate(s) {
  const d = s instanceof Date ? s : new Date(s);
  if (isNaN(d)) return String(s);
  return d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
}
function humanize(name) { return String(name).replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()); }
// plural is a count with its noun: "1 row", "21 rows".
function plural(n, noun) { return fmtNum(n) + " " + noun + (n === 1 ? "" : "s"); }
// joinNodes puts sep between the items of list (texts or elements).
function joinNodes(list, sep) { return list.flatMap((v, i) => (i ? [sep, v] : [v])); }
function short(id) { id = String(id); return id.length > 12 ? id.slice(0, 10) + "…" : id; }
function debounce(f, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => f(...a), ms); };
}
function toast(msg, bad) {
  const t = document.getElementById("toast");
  t.textContent = msg;
  t.className = bad ? "bad" : "";
  t.hidden = false;
  clearTimeout(toast.t);
  toast.t = setTimeout(() => { t.hidden = true; }, 6000);
}
function can(...roles) { return state.me && roles.includes(state.me.role); }

// masked says whether the API hid a value (j***@g***.com, +***78, J***).
function masked(v) { return typeof v === "string" && v.includes("***"); }

// maskText hides e-mail addresses inside free text (a destination's reason
// for refusing someone quotes the address) for the roles that see personal
// data masked, the way the API masks a whole value: j***@g***.com. The API
// masks what it sends; this is a second line for text it passes through.
const EMAIL_IN_TEXT = /[^\s@:;,<>"'()]+@[^\s@:;,<>"'()]+\.[A-Za-z]{2,}/g;
function maskText(text) {
  if (!text || !can("marketer")) return text;
  return String(text).replace(EMAIL_IN_TEXT, (m) => {
    const at = m.lastIndexOf("@"), domain = m.slice(at + 1), dot = domain.lastIndexOf(".");
    return m[0] + "***@" + domain[0] + "***" + domain.slice(dot);
  });
}

// show is a value as a person reads it; a masked one is marked as hidden.
function show(v) {
  if (v === null || v === undefined || v === "") return "–";
  if (typeof v === "number") return Number.isInteger(v) ? fmtNum(v) : v.toFixed(2);
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (masked(v)) return h("span", { class: "masked", title: "Hidden for your role: personal data is masked" }, v);
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return fmtTime(v);
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

class APIError extends Error {
  constructor(status, body) {
    super((body && body.error) || "the server answered " + status);
    this.status = status;
    this.details = (body && body.details) || [];
  }
}

// api calls the JSON API; signal (an AbortSignal) lets a caller give up on
// an answer it no longer needs (the server stops its query too).
async function api(method, path, body, signal) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" }, signal };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET" && state.me) opts.headers["X-CSRF-Token"] = state.me.csrf;
  let r;
  try {
    r = await fetch("/api/v1" + path, opts);
  } catch (e) {
    if (e.name === "AbortError") throw e;
    throw new APIError(0, { error: "Cohort's server does not answer: check that it is running, then try again." });
  }
  let data = null;
  const text = await r.text();
  if (text) { try { data = JSON.parse(text); } catch (e) { data = { error: text }; } }
  if (r.status === 401 && path !== "/login") {
    const had = state.me !== null;
    state.me = null;
    showLogin(had ? "Your session has ended: please sign in again." : "");
    throw new APIError(401, data);
  }
  if (!r.ok) throw new APIError(r.status, data);
  return data;
}

// problem is an error in words, with the details the server gave.
function problem(err) {
  return err.message + (err.details && err.details.length ? ": " + err.details.map(detailText).join("; ") : "");
}
function detailText(d) {
  if (typeof d === "string") return d;
  return (d.path ? d.path + ": " : "") + (d.message || JSON.stringify(d));
}

function errorBox(err) {
  return h("div", { class: "error", role: "alert" }, err.message,
    err.details && err.details.length ? h("ul", {}, err.details.map((d) => h("li", {}, detailText(d)))) : null);
}

function loading(what) { return h("p", { class: "muted loading", role: "status" }, what || "Loading…"); }

// busy disables a button while f runs and says what is happening on it.
async function busy(button, words, f) {
  const label = button.textContent;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  button.textContent = words;
  try { return await f(); } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    button.textContent = label;
  }
}

// labelled is an input with its visible label (the label names the input
// for screen readers too).
let uid = 0;
function labelled(text, input, hint) {
  if (!input.id) input.id = "f" + (++uid);
  return h("div", { class: "field" }, h("label", { for: input.id }, text), input, hint ? h("p", { class: "hint" }, hint) : null);
}

// confirmDialog asks a yes/no question in a modal dialog; it resolves true
// when the person confirms. body is extra content (a list of what happens).
function confirmDialog(title, body, yes, danger) {
  return new Promise((resolve) => {
    const dlg = h("dialog", { class: "card dialog", "aria-labelledby": "dialog-title" });
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    put(dlg,
      h("h2", { id: "dialog-title" }, title),
      body,
      h("div", { class: "actions" },
        h("button", { class: danger ? "primary danger-fill" : "primary", id: "dialog-yes", onclick: () => done(true) }, yes),
        h("button", { id: "dialog-no", onclick: () => done(false) }, "Cancel")));
    dlg.addEventListener("cancel", (ev) => { ev.preventDefault(); done(false); });
    document.body.append(dlg);
    dlg.showModal();
    dlg.querySelector("#dialog-no").focus(); // the safe choice has the focus
  });
}

const roleWords = {
  admin: "Administrator: everything, including the audit log.",
  editor: "Editor: build segments, run and pause syncs.",
  marketer: "Marketer: build segments and run syncs; personal data is hidden.",
  support: "Support: look customers up, with their personal data.",
};

async function catalog() {
  if (!state.catalog) state.catalog = await api("GET", "/catalog");
  return state.catalog;
}

// ---- routing --------------------------------------------------------------

const pages = { segments: () => segmentsPage, syncs: () => syncsPage, profiles: () => profilesPage, results: () => resultsPage };

function route() {
  if (!state.me) return showLogin();
  const name = (location.hash.replace(/^#\/?/, "").split("/")[0]) || "segments";
  const page = (pages[name] || pages.segments)();
  document.querySelectorAll("#top nav a").forEach((a) => {
    a.classList.toggle("active", a.dataset.page === name);
    if (a.dataset.page === name) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  document.getElementById("toast").hidden = true;
  const main = document.getElementById("main");
  // a fresh view per visit: a page still loading for an earlier visit
  // fills its own, detached view
  const view = h("div", { class: "view" }, loading());
  put(main, view);
  main.dataset.page = name;
  page(view).catch((e) => { if (e.status !== 401) put(view, errorBox(e)); });
}

async function start() {
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("POST", "/logout"); } catch (e) { /* signed out either way */ }
    state.me = null;
    showLogin("You are signed out.");
  });
  document.getElementById("skip").addEventListener("click", (ev) => { ev.preventDefault(); document.getElementById("main").focus(); });
  window.addEventListener("hashchange", route);
  try {
    state.me = await api("GET", "/me");
  } catch (e) {
    if (e.status !== 401) put(document.getElementById("main"), errorBox(e));
    return;
  }
  signedIn();
}

function signedIn() {
  const top = document.getElementById("top");
  top.hidden = false;
  put(document.getElementById("who"),
    h("span", { class: "name" }, state.me.name), " ",
    h("span", { class: "role role-" + state.me.role, title: roleWords[state.me.role] || "" }, state.me.role));
  document.querySelector('#top nav a[data-page="profiles"]').hidden = !can("admin", "support");
  state.catalog = null;
  route();
}

// ---- login ------------------------------------------------------------------

function showLogin(message) {
  document.getElementById("top").hidden = true;
  const main = document.getElementById("main");
  main.dataset.page = "login";
  const input = h("input", { id: "token", type: "password", autocomplete: "current-password", required: true, placeholder: "paste your token here" });
  const out = h("div", { id: "login-result", role: "status" }, message ? h("p", { class: "muted" }, message) : null);
  const submit = h("button", { type: "submit", class: "primary", id: "login-submit" }, "Sign in");
  const form = h("form", { class: "card login", onsubmit: async (ev) => {
    ev.preventDefault();
    put(out);
    try {
      state.me = await busy(submit, "Signing in…", () => api("POST", "/login", { token: input.value.trim() }));
    } catch (e) {
      out.append(errorBox(e.status === 401 ? new Error("That token is not valid: check it, or ask an administrator for a new one.") : e));
      return;
    }
    if (!location.hash || location.hash === "#/login") location.hash = "#/segments";
    signedIn();
    toast("Signed in as " + state.me.name + " — " + (roleWords[state.me.role] || state.me.role));
  } },
  h("h1", {}, "Sign in to Cohort"),
  h("label", { for: "token" }, "Your access token"),
  input,
  h("p", { class: "hint" }, "An administrator creates it with: cohort tokens create --role marketer --name you"),
  submit,
  out);
  put(main, form);
  input.focus();
}

document.addEventListener("DOMContentLoaded", start);
