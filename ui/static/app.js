// Cohort's web UI: plain JavaScript over the JSON API at /api/v1.
// Pages are chosen by the URL's #fragment; every text from the server goes
// into the page as text (never as HTML).
"use strict";

const state = { me: null, catalog: null };

// ---- small helpers -------------------------------------------------------

// h builds an element: h("div", {class: "x", onclick: f}, child, "text", ...)
function h(tag, attrs, ...children) {
  const el = document.createElementNS(tag.startsWith("svg:") ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag.replace(/^svg:/, ""));
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// put replaces the children of el, leaving out null, undefined and false.
function put(el, ...children) {
  el.replaceChildren(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
}

function fmtNum(n) { return n === undefined || n === null ? "–" : Number(n).toLocaleString("en-US"); }
function fmtTime(s) {
  if (!s) return "–";
  const d = new Date(s);
  if (isNaN(d)) return s;
  return d.toLocaleString("en-GB", { day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit" });
}
function humanize(name) { return String(name).replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase()); }
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
  toast.t = setTimeout(() => { t.hidden = true; }, 5000);
}
function can(...roles) { return state.me && roles.includes(state.me.role); }

class APIError extends Error {
  constructor(status, body) {
    super((body && body.error) || "the server answered " + status);
    this.status = status;
    this.details = (body && body.details) || [];
  }
}

async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET" && state.me) opts.headers["X-CSRF-Token"] = state.me.csrf;
  const r = await fetch("/api/v1" + path, opts);
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

function errorBox(err) {
  return h("div", { class: "error" }, err.message,
    err.details && err.details.length ? h("ul", {}, err.details.map((d) => h("li", {}, d.message || JSON.stringify(d)))) : null);
}

const roleWords = {
  admin: "Administrator: everything, including the audit log.",
  editor: "Editor: build segments, run and pause syncs.",
  marketer: "Marketer: build segments and run syncs; personal data is hidden.",
  support: "Support: look customers up, with their personal data.",
};

// ---- routing --------------------------------------------------------------

const pages = { segments: segmentsPage, syncs: syncsPage, profiles: profilesPage, results: resultsPage };

function route() {
  if (!state.me) return showLogin();
  const name = (location.hash.replace(/^#\/?/, "").split("/")[0]) || "segments";
  const page = pages[name] || segmentsPage;
  document.querySelectorAll("#top nav a").forEach((a) => a.classList.toggle("active", a.dataset.page === name));
  document.getElementById("toast").hidden = true;
  const main = document.getElementById("main");
  // a fresh view per visit: a page still loading for an earlier visit
  // fills its own, detached view
  const view = h("div", { class: "view" });
  put(main, view);
  main.dataset.page = name;
  page(view).catch((e) => { if (e.status !== 401) view.append(errorBox(e)); });
}

async function start() {
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("POST", "/logout"); } catch (e) { /* signed out either way */ }
    state.me = null;
    showLogin("You are signed out.");
  });
  window.addEventListener("hashchange", route);
  try {
    state.me = await api("GET", "/me");
  } catch (e) {
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
  const out = h("div", { id: "login-result" }, message ? h("p", { class: "muted" }, message) : null);
  const form = h("form", { class: "card login", onsubmit: async (ev) => {
    ev.preventDefault();
    put(out);
    try {
      state.me = await api("POST", "/login", { token: input.value.trim() });
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
  h("button", { type: "submit", class: "primary", id: "login-submit" }, "Sign in"),
  out);
  put(main, form);
  input.focus();
}

async function catalog() {
  if (!state.catalog) state.catalog = await api("GET", "/catalog");
  return state.catalog;
}

// ---- segment builder ------------------------------------------------------

// Operators in plain words; "needs" says what value the operator takes.
const OPS = [
  { op: "eq", label: "is", needs: "one" },
  { op: "neq", label: "is not", needs: "one" },
  { op: "gt", label: "is more than", needs: "one", num: true },
  { op: "gte", label: "is at least", needs: "one", num: true },
  { op: "lt", label: "is less than", needs: "one", num: true },
  { op: "lte", label: "is at most", needs: "one", num: true },
  { op: "between", label: "is between", needs: "two", num: true },
  { op: "in", label: "is one of", needs: "list" },
  { op: "not_in", label: "is none of", needs: "list" },
  { op: "contains", label: "contains", needs: "one", text: true },
  { op: "starts_with", label: "starts with", needs: "one", text: true },
  { op: "is_null", label: "is empty", needs: "none" },
  { op: "not_null", label: "is not empty", needs: "none" },
  { op: "within", label: "is in the last", needs: "days", time: true },
  { op: "before", label: "is longer ago than", needs: "days", time: true },
];

function traitKind(type) {
  const t = String(type || "").toUpperCase();
  if (/BOOL/.test(t)) return "bool";
  if (/INT|DEC|NUM|DOUBLE|FLOAT|REAL/.test(t)) return "num";
  if (/DATE|TIME/.test(t)) return "time";
  if (t === "") return "any"; // the server did not say: offer every operator
  return "text";
}

function opsFor(kind) {
  return OPS.filter((o) => {
    if (kind === "bool") return ["eq", "neq", "is_null", "not_null"].includes(o.op);
    if (kind === "time") return o.time || ["is_null", "not_null"].includes(o.op);
    if (kind === "num") return !o.text && !o.time;
    if (kind === "any") return true;
    return !o.num && !o.time;
  });
}

function typed(v, kind) {
  v = String(v).trim();
  if (kind === "num" && v !== "" && !isNaN(Number(v))) return Number(v);
  if (kind === "bool") return v === "true";
  if (kind === "any") {
    if (v === "true" || v === "false") return v === "true";
    if (v !== "" && !isNaN(Number(v))) return Number(v);
  }
  return v;
}

// A condition row of the builder, as the page keeps it.
function newRow(kind) {
  return { kind: kind || "trait", negate: false, trait: "", op: "", value: "", value2: "", source: "", event: "", days: "", count: "", segment: "" };
}

// rowToCondition turns a row into the segment definition's JSON; null when
// the row is not filled in enough to count yet.
function rowToCondition(r, cat) {
  let c = null;
  if (r.kind === "trait") {
    if (!r.trait || !r.op) return null;
    const t = cat.traits.find((x) => x.name === r.trait);
    const kind = traitKind(t && t.type);
    const o = OPS.find((x) => x.op === r.op);
    c = { trait: r.trait };
    if (o.needs === "none") c.is_null = r.op === "is_null";
    else if (o.needs === "days") { if (!r.value) return null; c[r.op] = String(r.value).trim() + "d"; }
    else if (o.needs === "two") { if (r.value === "" || r.value2 === "") return null; c.between = [typed(r.value, kind), typed(r.value2, kind)]; }
    else if (o.needs === "list") {
      const vs = String(r.value).split(",").map((s) => s.trim()).filter(Boolean);
      if (!vs.length) return null;
      c[r.op] = vs.map((v) => typed(v, kind));
    } else {
      if (r.value === "" && kind !== "bool") return null;
      c[r.op] = typed(kind === "bool" && r.value === "" ? "true" : r.value, kind);
    }
  } else if (r.kind === "event") {
    if (!r.source) return null;
    const e = { source: r.source };
    if (r.event.trim()) e.name = r.event.trim();
    if (String(r.days).trim()) e.within = String(r.days).trim() + "d";
    const n = parseInt(r.count, 10);
    if (n > 1) e.count = { gte: n };
    c = { event: e };
  } else if (r.kind === "segment") {
    if (!r.segment) return null;
    c = { segment: r.segment };
  }
  return r.negate ? { not: c } : c;
}

// conditionToRow reads a saved condition back into a row (null when the
// builder cannot show it: then the definition is shown read-only).
function conditionToRow(c) {
  const r = newRow();
  if (c.not) {
    const inner = conditionToRow(c.not);
    if (!inner || inner.negate) return null;
    inner.negate = true;
    return inner;
  }
  if (c.segment) { r.kind = "segment"; r.segment = c.segment; return r; }
  if (c.event) {
    if (c.event.where && c.event.where.length) return null;
    const cnt = c.event.count || {};
    if (Object.keys(cnt).some((k) => k !== "gte")) return null;
    r.kind = "event"; r.source = c.event.source || ""; r.event = c.event.name || "";
    r.days = c.event.within ? String(c.event.within).replace(/d$/, "") : "";
    r.count = cnt.gte ? String(cnt.gte) : "";
    return r;
  }
  if (c.trait) {
    r.trait = c.trait;
    for (const o of OPS) {
      const v = o.op === "not_null" ? undefined : c[o.op];
      if (o.op === "is_null" && c.is_null !== undefined) { r.op = c.is_null ? "is_null" : "not_null"; return r; }
      if (v === undefined) continue;
      r.op = o.op;
      if (o.needs === "days") { if (!/^\d+d$/.test(v)) return null; r.value = v.replace(/d$/, ""); }
      else if (o.needs === "two") { r.value = String(v[0]); r.value2 = String(v[1]); }
      else if (o.needs === "list") r.value = v.join(", ");
      else r.value = String(v);
      return r;
    }
  }
  return null;
}

async function segmentsPage(main) {
  const cat = await catalog();
  const list = await api("GET", "/segments");
  const b = { name: "", description: "", combine: "all", rows: [newRow()], editing: null, readOnly: false };
  const writer = can("admin", "editor", "marketer");

  const side = h("aside", { class: "card seglist" });
  const body = h("section", { class: "builder" });
  const preview = h("section", { class: "card preview", id: "preview" });
  main.append(h("div", { class: "cols" }, side, body, preview));

  function drawList() {
    put(side, h("h2", {}, "Segments"),
      writer ? h("button", { class: "primary wide", id: "new-segment", onclick: () => { Object.assign(b, { name: "", description: "", combine: "all", rows: [newRow()], editing: null, readOnly: false }); draw(); } }, "+ New segment") : null,
      h("ul", {}, list.map((s) => h("li", {},
        h("a", { href: "#/segments", class: b.editing === s.name ? "active" : "", "data-segment": s.name, onclick: (ev) => { ev.preventDefault(); open(s.name); } }, humanize(s.name)),
        s.read_only ? h("span", { class: "tag", title: "Defined in the project's files: read-only here" }, "project") : h("span", { class: "tag ui" }, "saved here"),
        s.description ? h("div", { class: "muted small" }, s.description) : null))));
  }

  async function open(name) {
    let s;
    try { s = await api("GET", "/segments/" + encodeURIComponent(name)); } catch (e) { toast(e.message, true); return; }
    const d = s.definition || {};
    const where = d.where || {};
    let combine = "all", conds = [where];
    if (where.all) conds = where.all; else if (where.any) { combine = "any"; conds = where.any; }
    const rows = conds.map(conditionToRow);
    Object.assign(b, { name: s.name, description: s.description || "", combine, editing: s.name, readOnly: !!s.read_only,
      rows: rows.every(Boolean) ? rows : [], raw: rows.every(Boolean) ? null : where });
    draw();
  }

  function definition() {
    const conds = b.rows.map((r) => rowToCondition(r, cat)).filter(Boolean);
    if (b.raw) return { name: b.name || "unsaved", description: b.description || undefined, where: b.raw };
    if (!conds.length) return null;
    return { name: b.name || "unsaved", description: b.description || undefined, where: { [b.combine]: conds } };
  }

  function traitSelect(r, onchange) {
    return h("select", { class: "trait", "aria-label": "trait", onchange: (ev) => { r.trait = ev.target.value; r.op = ""; r.value = ""; onchange(true); } },
      h("option", { value: "" }, "choose a trait…"),
      cat.traits.map((t) => h("option", { value: t.name, selected: t.name === r.trait }, humanize(t.name))));
  }

  function rowEditor(r, i) {
    const changed = (redraw) => { if (redraw) draw(); else refresh(); };
    const dis = b.readOnly;
    const parts = [];
    parts.push(h("select", { class: "kind", "aria-label": "condition kind", disabled: dis, onchange: (ev) => { b.rows[i] = newRow(ev.target.value); b.rows[i].negate = r.negate; draw(); } },
      h("option", { value: "trait", selected: r.kind === "trait" }, "Trait"),
      h("option", { value: "event", selected: r.kind === "event" }, "Did something"),
      h("option", { value: "segment", selected: r.kind === "segment" }, "In segment")));
    if (r.kind === "trait") {
      const sel = traitSelect(r, changed); sel.disabled = dis; parts.push(sel);
      if (r.trait) {
        const t = cat.traits.find((x) => x.name === r.trait);
        const kind = traitKind(t && t.type);
        const ops = opsFor(kind);
        if (!r.op) r.op = ops[0].op;
        parts.push(h("select", { class: "op", "aria-label": "operator", disabled: dis, onchange: (ev) => { r.op = ev.target.value; changed(true); } },
          ops.map((o) => h("option", { value: o.op, selected: o.op === r.op }, o.label))));
        const o = OPS.find((x) => x.op === r.op);
        const inp = (key, ph) => h("input", { class: "value", "aria-label": "value", disabled: dis, value: r[key], placeholder: ph, inputmode: kind === "num" || o.needs === "days" ? "decimal" : null, oninput: (ev) => { r[key] = ev.target.value; changed(false); } });
        if (kind === "bool" && o.needs === "one") {
          if (r.value === "") r.value = "true";
          parts.push(h("select", { class: "value", "aria-label": "value", disabled: dis, onchange: (ev) => { r.value = ev.target.value; changed(false); } },
            h("option", { value: "true", selected: r.value === "true" }, "yes"), h("option", { value: "false", selected: r.value === "false" }, "no")));
        } else if (o.needs === "one") parts.push(inp("value", kind === "num" ? "a number" : "a value"));
        else if (o.needs === "two") parts.push(inp("value", "from"), " and ", inp("value2", "to"));
        else if (o.needs === "list") parts.push(inp("value", "values, separated by commas"));
        else if (o.needs === "days") parts.push(inp("value", "number"), " days");
      }
    } else if (r.kind === "event") {
      parts.push(h("select", { class: "source", "aria-label": "event source", disabled: dis, onchange: (ev) => { r.source = ev.target.value; changed(false); } },
        h("option", { value: "" }, "choose a source…"),
        cat.sources.slice().sort((a, b) => (a.kind === "events" ? 0 : 1) - (b.kind === "events" ? 0 : 1)).map((s) => h("option", { value: s.name, selected: s.name === r.source }, humanize(s.name)))));
      parts.push(h("input", { class: "event-name", "aria-label": "event name", disabled: dis, value: r.event, placeholder: "any event (or a name, e.g. add_to_cart)", oninput: (ev) => { r.event = ev.target.value; changed(false); } }));
      parts.push(" in the last ", h("input", { class: "days short", "aria-label": "days", disabled: dis, value: r.days, placeholder: "ever", inputmode: "numeric", oninput: (ev) => { r.days = ev.target.value; changed(false); } }), " days, at least ",
        h("input", { class: "count short", "aria-label": "times", disabled: dis, value: r.count, placeholder: "1", inputmode: "numeric", oninput: (ev) => { r.count = ev.target.value; changed(false); } }), " times");
    } else {
      parts.push(h("select", { class: "segment", "aria-label": "segment", disabled: dis, onchange: (ev) => { r.segment = ev.target.value; changed(false); } },
        h("option", { value: "" }, "choose a segment…"),
        cat.segments.filter((s) => s !== b.editing).map((s) => h("option", { value: s, selected: s === r.segment }, humanize(s)))));
    }
    return h("div", { class: "cond" + (r.negate ? " negated" : ""), "data-row": i },
      h("label", { class: "not", title: "Leave out the people who match this condition" },
        h("input", { type: "checkbox", class: "negate", checked: r.negate, disabled: dis, onchange: (ev) => { r.negate = ev.target.checked; changed(true); } }), " exclude"),
      h("div", { class: "parts" }, parts),
      dis ? null : h("button", { class: "link remove", title: "Remove this condition", onclick: () => { b.rows.splice(i, 1); if (!b.rows.length) b.rows.push(newRow()); draw(); } }, "✕"));
  }

  function draw() {
    drawList();
    const nameInput = h("input", { id: "seg-name", value: b.name, placeholder: "e.g. summer_regulars", disabled: b.editing !== null, pattern: "[a-z][a-z0-9_]*",
      oninput: (ev) => { b.name = ev.target.value; } });
    put(body, h("div", { class: "card" },
      h("h1", {}, b.editing ? humanize(b.editing) : "New segment"),
      b.readOnly ? h("p", { class: "note" }, "This segment is defined in the project's files, so it is read-only here. Use “Save as new” to start a copy.") : null,
      h("div", { class: "row" },
        h("label", {}, "Name", nameInput),
        h("label", { class: "grow" }, "Description", h("input", { id: "seg-desc", value: b.description, disabled: b.readOnly, placeholder: "What these people have in common", oninput: (ev) => { b.description = ev.target.value; } }))),
      b.raw ? h("div", {}, h("p", { class: "note" }, "This segment uses conditions the builder cannot edit yet; its definition:"), h("pre", { class: "code" }, JSON.stringify(b.raw, null, 2))) :
        h("div", {},
          h("p", { class: "combine" }, "Include people who match ",
            h("select", { id: "combine", disabled: b.readOnly, onchange: (ev) => { b.combine = ev.target.value; refresh(); } },
              h("option", { value: "all", selected: b.combine === "all" }, "all"),
              h("option", { value: "any", selected: b.combine === "any" }, "any")),
            " of these conditions:"),
          h("div", { id: "conditions" }, b.rows.map(rowEditor)),
          b.readOnly ? null : h("button", { id: "add-condition", onclick: () => { b.rows.push(newRow()); draw(); } }, "+ Add a condition")),
      h("div", { class: "actions" },
        writer && !b.readOnly ? h("button", { class: "primary", id: "save", onclick: save }, b.editing ? "Save changes" : "Save segment") : null,
        writer && b.readOnly ? h("button", { id: "save-copy", onclick: () => { b.editing = null; b.readOnly = false; b.name = b.name + "_copy"; draw(); } }, "Save as new") : null,
        writer && b.editing && !b.readOnly ? h("button", { class: "danger", id: "delete", onclick: remove }, "Delete") : null,
        h("details", { class: "asked" }, h("summary", {}, "Show the definition"), h("pre", { class: "code", id: "definition" })))),
    b.editing ? h("div", { class: "card", id: "overlap-card" }, h("h2", {}, "Overlap with another segment"), overlapTool()) : null,
    b.editing ? h("div", { class: "card", id: "segment-syncs" }, h("h2", {}, "Send to a destination"), syncTool()) : null);
    refresh();
  }

  function overlapTool() {
    const out = h("div", { id: "overlap-result" });
    const sel = h("select", { id: "overlap-with", "aria-label": "other segment" }, h("option", { value: "" }, "choose a segment…"),
      cat.segments.filter((s) => s !== b.editing).map((s) => h("option", { value: s }, humanize(s))));
    sel.addEventListener("change", async () => {
      put(out);
      if (!sel.value) return;
      try {
        const r = await api("POST", "/segments/overlap", { segments: [b.editing, sel.value] });
        const size = (names) => (r.sizes.find((s) => s.segments.length === names.length && names.every((n) => s.segments.includes(n))) || { count: 0 }).count;
        const a = size([b.editing]), c = size([sel.value]), both = size([b.editing, sel.value]);
        out.append(vennBar(humanize(b.editing), a, humanize(sel.value), c, both));
      } catch (e) { out.append(errorBox(e)); }
    });
    return h("div", {}, sel, out);
  }

  function syncTool() {
    const box = h("div", {});
    api("GET", "/syncs").then((all) => {
      state.syncs = all;
      const mine = all.filter((s) => s.segment === b.editing);
      put(box, 
        mine.length ? h("ul", { class: "plain" }, mine.map((s) => h("li", {}, h("strong", {}, humanize(s.name)), " → ", s.destination, " ",
          writer ? h("button", { class: "dry-run", onclick: (ev) => runSync(s.name, true, ev.target) }, "Dry run") : null, " ",
          writer ? h("button", { onclick: (ev) => runSync(s.name, false, ev.target) }, "Run now") : null,
          h("div", { class: "sync-result", id: "sync-result-" + s.name }))))
          : h("p", { class: "muted" }, "No sync sends this segment yet."),
        h("details", {}, h("summary", {}, "Add a sync for this segment"),
          h("p", {}, "Syncs are kept with the project's files so they are reviewed like code. Ask an editor to add this to the project's syncs file and run “cohort validate”:"),
          h("pre", { class: "code" }, "syncs:\n  - name: " + b.editing + "_to_" + (cat.destinations[0] || "crm") + "\n    segment: " + b.editing + "\n    destination: " + (cat.destinations[0] || "crm") + "\n    schedule: daily\n"),
          cat.destinations.length ? h("p", { class: "muted small" }, "Destinations of this project: " + cat.destinations.join(", ")) : null));
    }).catch((e) => put(box, errorBox(e)));
    return box;
  }

  const runPreview = debounce(async (def, seq) => {
    try {
      const r = await api("POST", "/segments/preview?sample=10", def);
      if (seq !== previewSeq) return;
      preview.dataset.shown = def.name;
      showPreview(r);
    } catch (e) {
      if (seq !== previewSeq) return;
      preview.classList.remove("busy");
      put(preview, h("h2", {}, "Who is in it"), errorBox(e));
    }
  }, 350);
  let previewSeq = 0;

  function refresh() {
    const def = definition();
    const pre = document.getElementById("definition");
    if (pre) pre.textContent = def ? JSON.stringify(def.where, null, 2) : "(no condition yet)";
    previewSeq++;
    if (!def) {
      preview.classList.remove("busy");
      put(preview, h("h2", {}, "Who is in it"), h("p", { class: "muted", id: "count-empty" }, "Add a condition to see how many people match."));
      return;
    }
    preview.classList.add("busy");
    runPreview(def, previewSeq);
  }

  function showPreview(r) {
    preview.classList.remove("busy");
    const traits = (r.traits && r.traits.length ? r.traits : Object.keys((r.sample[0] || {}).traits || {})).slice(0, 3);
    let change = null;
    if (r.change_since_last_run !== null && r.change_since_last_run !== undefined) {
      const ch = r.change_since_last_run;
      const n = typeof ch === "object" ? (ch.entered || 0) - (ch.exited || 0) : ch;
      change = h("p", { class: "muted" }, (n >= 0 ? "+" : "") + fmtNum(n) + " since the last run");
    }
    put(preview, 
      h("h2", {}, "Who is in it"),
      h("div", { class: "big", id: "count" }, fmtNum(r.count)),
      h("p", { class: "muted" }, r.count === 1 ? "person matches" : "people match"),
      change,
      r.holdout ? h("p", { class: "muted" }, fmtNum(r.holdout) + " of them are held out (not sent, to measure the effect)") : null,
      r.sample && r.sample.length ? h("div", {},
        h("h3", {}, "A few of them"),
        h("table", { class: "sample" },
          h("thead", {}, h("tr", {}, h("th", {}, "Person"), traits.map((t) => h("th", {}, humanize(t))))),
          h("tbody", {}, r.sample.map((p) => h("tr", {},
            h("td", {}, can("admin", "support") ? h("a", { href: "#/profiles/" + encodeURIComponent(p.profile_id) }, short(p.profile_id)) : short(p.profile_id)),
            traits.map((t) => h("td", {}, show((p.traits || {})[t])))))))) : null);
  }

  async function save() {
    const def = definition();
    if (!b.name || !/^[a-z][a-z0-9_]*$/.test(b.name)) { toast("Give the segment a name: lower-case letters, digits and _ (e.g. summer_regulars).", true); return; }
    if (!def) { toast("Add at least one condition first.", true); return; }
    def.name = b.name;
    try {
      if (b.editing) await api("PUT", "/segments/" + encodeURIComponent(b.editing), def);
      else await api("POST", "/segments", def);
    } catch (e) { toast(e.message + (e.details.length ? ": " + e.details.map((d) => d.message).join("; ") : ""), true); return; }
    toast("Saved “" + humanize(b.name) + "”.");
    state.catalog = null;
    Object.assign(cat, await catalog());
    list.splice(0, list.length, ...(await api("GET", "/segments")));
    b.editing = b.name;
    draw();
  }

  async function remove() {
    if (!confirm("Delete the segment “" + humanize(b.editing) + "”? Syncs cannot use it any more.")) return;
    try { await api("DELETE", "/segments/" + encodeURIComponent(b.editing)); } catch (e) { toast(e.message, true); return; }
    toast("Deleted “" + humanize(b.editing) + "”.");
    state.catalog = null;
    Object.assign(cat, await catalog());
    list.splice(0, list.length, ...(await api("GET", "/segments")));
    Object.assign(b, { name: "", description: "", combine: "all", rows: [newRow()], editing: null, readOnly: false, raw: null });
    draw();
  }

  draw();
}

function short(id) { id = String(id); return id.length > 12 ? id.slice(0, 10) + "…" : id; }
function show(v) {
  if (v === null || v === undefined || v === "") return "–";
  if (typeof v === "number") return Number.isInteger(v) ? fmtNum(v) : v.toFixed(2);
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "string" && /^\d{4}-\d\d-\d\dT/.test(v)) return fmtTime(v);
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

// vennBar draws two overlapping segments as one bar: only A, both, only B.
function vennBar(a, na, b, nb, both) {
  const total = Math.max(na + nb - both, 1);
  const w = (n) => Math.max(0, (n / total) * 100) + "%";
  return h("div", { class: "venn" },
    h("div", { class: "bar" },
      h("span", { class: "a", style: "width:" + w(na - both) }),
      h("span", { class: "both", style: "width:" + w(both) }),
      h("span", { class: "b", style: "width:" + w(nb - both) })),
    h("p", { id: "overlap-words" }, fmtNum(both) + " people are in both. ", fmtNum(na - both) + " only in " + a + ", " + fmtNum(nb - both) + " only in " + b + "."));
}

// ---- charts (inline SVG) -------------------------------------------------------

// lineChart draws series [{name, cls, points:[{x: Date, y}]}] and optional
// bands [{lo, hi}] around the first series.
function lineChart(series, opts) {
  opts = opts || {};
  const W = 640, H = 200, L = 48, R = 12, T = 12, B = 28;
  const pts = series.flatMap((s) => s.points);
  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opts.label || "chart" });
  if (!pts.length) return h("p", { class: "muted" }, opts.empty || "Nothing to chart yet.");
  const xs = pts.map((p) => +p.x), ys = pts.flatMap((p) => [p.y, p.lo, p.hi]).filter((v) => v !== undefined && v !== null);
  let x0 = Math.min(...xs), x1 = Math.max(...xs);
  if (x0 === x1) { x0 -= 3600e3; x1 += 3600e3; }
  const pad = (x1 - x0) * 0.06; // room for the first and last bar
  x0 -= pad; x1 += pad;
  let y0 = Math.min(0, ...ys), y1 = Math.max(...ys, 1);
  const X = (x) => L + ((+x - x0) / (x1 - x0)) * (W - L - R);
  const Y = (y) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    svg.append(h("svg:line", { x1: L, x2: W - R, y1: Y(v), y2: Y(v), class: "grid" }),
      h("svg:text", { x: L - 6, y: Y(v) + 4, class: "axis", "text-anchor": "end" }, opts.pct ? (v * 100).toFixed(0) + "%" : fmtNum(Math.round(v))));
  }
  svg.append(h("svg:text", { x: L, y: H - 8, class: "axis" }, fmtTime(new Date(x0))),
    h("svg:text", { x: W - R, y: H - 8, class: "axis", "text-anchor": "end" }, fmtTime(new Date(x1))));
  for (const s of series) {
    const band = s.points.filter((p) => p.lo !== undefined && p.hi !== undefined);
    if (band.length) {
      const d = band.map((p, i) => (i ? "L" : "M") + X(p.x) + "," + Y(p.hi)).join("") +
        band.slice().reverse().map((p) => "L" + X(p.x) + "," + Y(p.lo)).join("") + "Z";
      svg.append(h("svg:path", { d, class: "band " + s.cls }));
    }
    if (s.bars) {
      const bw = Math.max(3, Math.min(18, (W - L - R) / (s.points.length * 2)));
      for (const p of s.points) svg.append(h("svg:rect", { x: X(p.x) - bw / 2, y: Y(Math.max(p.y, 0)), width: bw, height: Math.abs(Y(0) - Y(p.y)), class: "bar " + s.cls }, h("svg:title", {}, s.name + ": " + fmtNum(p.y))));
    } else {
      svg.append(h("svg:path", { d: s.points.map((p, i) => (i ? "L" : "M") + X(p.x) + "," + Y(p.y)).join(""), class: "line " + s.cls }));
      for (const p of s.points) svg.append(h("svg:circle", { cx: X(p.x), cy: Y(p.y), r: 3, class: "dot " + s.cls }, h("svg:title", {}, s.name + ": " + fmtNum(p.y) + " (" + fmtTime(p.x) + ")")));
    }
  }
  return h("figure", { class: "chartbox" }, svg,
    h("figcaption", {}, series.map((s) => h("span", { class: "key " + s.cls }, s.name))));
}

// ---- syncs ----------------------------------------------------------------------

function health(s) {
  const said = { healthy: ["good", "Healthy"], degraded: ["warn", "Some rejected"], failing: ["bad", "Failing"],
    running: ["idle", "Running"], paused: ["paused", "Paused"], never_run: ["idle", "Never run"] }[s.health];
  if (said) return { cls: said[0], word: said[1] };
  if (s.paused) return { cls: "paused", word: "Paused" };
  const r = s.last_run;
  if (!r) return { cls: "idle", word: "Never run" };
  if (r.status === "failed" || r.error) return { cls: "bad", word: "Failing" };
  if (r.rejected > 0 || r.status === "partial") return { cls: "warn", word: "Some rejected" };
  if (r.status === "running") return { cls: "idle", word: "Running" };
  return { cls: "good", word: "Healthy" };
}

async function runSync(name, dry, button) {
  const out = document.getElementById("sync-result-" + name);
  if (button) { button.disabled = true; button.dataset.label = button.textContent; button.textContent = dry ? "Checking…" : "Sending…"; }
  try {
    const r = await api("POST", "/syncs/" + encodeURIComponent(name) + (dry ? "/dry-run" : "/run"));
    const words = (dry ? "A run now would add " : "Sent: added ") + fmtNum(r.added) + ", change " + fmtNum(r.changed) + " and remove " + fmtNum(r.removed) + (dry ? " — nothing was sent." : ".");
    if (out) {
      put(out, h("p", { class: dry ? "note dry-result" : "note run-result" }, words),
        r.sample && r.sample.length ? h("table", { class: "sample" }, h("thead", {}, h("tr", {}, h("th", {}, "What"), h("th", {}, "Who"), h("th", {}, "Fields"))),
          h("tbody", {}, r.sample.slice(0, 5).map((x) => h("tr", {}, h("td", {}, opWord(x.op)), h("td", {}, Object.values(x.key || {}).join(", ") || short(x.profile_id)), h("td", { class: "small" }, Object.entries(x.fields || {}).slice(0, 4).map(([k, v]) => humanize(k) + ": " + show(v)).join(" · ")))))) : null);
    }
    toast(words);
    return r;
  } catch (e) {
    if (out) put(out, errorBox(e));
    toast(e.message, true);
  } finally {
    if (button) { button.disabled = false; button.textContent = button.dataset.label; }
  }
}
function opWord(op) { return { add: "Add", upsert: "Add", change: "Change", update: "Change", remove: "Remove", delete: "Remove" }[op] || humanize(op || ""); }

async function syncsPage(main) {
  const syncs = await api("GET", "/syncs");
  state.syncs = syncs;
  const writer = can("admin", "editor", "marketer"), pauser = can("admin", "editor");
  main.append(h("h1", {}, "Syncs"), h("p", { class: "muted" }, "Each sync sends the members of a segment to a destination and keeps it up to date."));
  if (!syncs.length) main.append(h("p", { class: "card" }, "This project has no sync yet."));
  const grid = h("div", { class: "syncs" });
  main.append(grid);
  for (const s of syncs) {
    const hl = health(s);
    const detail = h("div", { class: "sync-detail" });
    const card = h("div", { class: "card sync", "data-sync": s.name },
      h("div", { class: "sync-head" },
        h("h2", {}, humanize(s.name)),
        h("span", { class: "health " + hl.cls }, hl.word)),
      h("p", {}, "Sends ", h("strong", {}, humanize(s.segment)), " to ", h("strong", {}, s.destination), s.type ? " (" + s.type + ")" : "", s.mode ? ", " + s.mode : ""),
      h("dl", { class: "facts" },
        h("dt", {}, "Last run"), h("dd", {}, s.last_run ? fmtTime(s.last_run.finished_at || s.last_run.started_at) + " — added " + fmtNum(s.last_run.added) + ", changed " + fmtNum(s.last_run.changed) + ", removed " + fmtNum(s.last_run.removed) + (s.last_run.rejected ? ", rejected " + fmtNum(s.last_run.rejected) : "") : "never"),
        h("dt", {}, "Next run"), h("dd", {}, s.next_run ? fmtTime(s.next_run) : s.paused ? "paused" : s.schedule ? "on schedule: " + s.schedule : "when started by hand"),
        s.last_run && s.last_run.error ? [h("dt", {}, "Problem"), h("dd", { class: "bad-text" }, s.last_run.error)] : null),
      h("div", { class: "actions" },
        writer ? h("button", { class: "primary run-now", onclick: (ev) => runSync(s.name, false, ev.target).then(() => syncsPageReload()) }, "Run now") : null,
        writer ? h("button", { class: "dry-run", onclick: (ev) => runSync(s.name, true, ev.target) }, "Dry run") : null,
        pauser ? h("button", { onclick: async () => { try { await api("POST", "/syncs/" + encodeURIComponent(s.name) + (s.paused ? "/resume" : "/pause")); syncsPageReload(); } catch (e) { toast(e.message, true); } } }, s.paused ? "Resume" : "Pause") : null,
        h("button", { class: "link", onclick: () => { detail.childElementCount ? put(detail) : syncDetail(s, detail); } }, "History")),
      h("div", { class: "sync-result", id: "sync-result-" + s.name }),
      detail);
    grid.append(card);
    if (syncs.length <= 4) syncDetail(s, detail);
  }
}
function syncsPageReload() { if ((location.hash || "").startsWith("#/syncs")) route(); }

async function syncDetail(s, box) {
  put(box, h("p", { class: "muted" }, "Loading history…"));
  let runs = [], hist = [];
  try {
    [runs, hist] = await Promise.all([
      api("GET", "/syncs/" + encodeURIComponent(s.name) + "/runs"),
      api("GET", "/segments/" + encodeURIComponent(s.segment) + "/history").catch(() => []),
    ]);
  } catch (e) { put(box, errorBox(e)); return; }
  runs = runs || []; hist = hist || [];
  const byTime = runs.slice().sort((a, b) => new Date(a.started_at) - new Date(b.started_at));
  const rejBox = h("div", { class: "rejections" });
  put(box, 
    h("h3", {}, "Members and changes over time"),
    lineChart([
      { name: "Members", cls: "s1", points: hist.map((x) => ({ x: new Date(x.run_at), y: x.members })) },
      { name: "Changes sent", cls: "s2", bars: true, points: byTime.map((r) => ({ x: new Date(r.started_at), y: (r.added || 0) + (r.changed || 0) + (r.removed || 0) })) },
    ], { label: "members and changes of " + s.name, empty: "No run yet: the chart fills in after the first runs." }),
    h("h3", {}, "Run history"),
    runs.length ? h("table", { class: "runs" },
      h("thead", {}, h("tr", {}, ["Started", "Result", "Added", "Changed", "Removed", "Rejected", ""].map((x) => h("th", {}, x)))),
      h("tbody", {}, runs.slice(0, 20).map((r) => h("tr", {},
        h("td", {}, fmtTime(r.started_at)),
        h("td", {}, h("span", { class: "health " + (r.status === "failed" ? "bad" : r.rejected ? "warn" : "good") }, humanize(r.status || "")), r.error ? h("div", { class: "small bad-text" }, r.error) : null),
        h("td", {}, fmtNum(r.added)), h("td", {}, fmtNum(r.changed)), h("td", {}, fmtNum(r.removed)), h("td", {}, fmtNum(r.rejected)),
        h("td", {}, r.rejected ? h("button", { class: "link", onclick: () => rejections(s.name, r.id, rejBox) }, "Why rejected?") : null))))) :
      h("p", { class: "muted" }, "No run yet."),
    rejBox);
}

async function rejections(sync, id, box) {
  try {
    const rows = await api("GET", "/syncs/" + encodeURIComponent(sync) + "/runs/" + encodeURIComponent(id) + "/rejections");
    put(box, h("h3", {}, "Rejected by the destination"),
      h("table", { class: "sample" }, h("thead", {}, h("tr", {}, h("th", {}, "Who"), h("th", {}, "Reason"), h("th", {}, "When"))),
        h("tbody", {}, rows.map((x) => h("tr", {}, h("td", {}, Object.values(x.key || {}).join(", ") || short(x.profile_id)), h("td", {}, x.reason), h("td", {}, fmtTime(x.rejected_at)))))));
  } catch (e) { put(box, errorBox(e)); }
}

// ---- profile lookup ----------------------------------------------------------------

// queryFor turns what a person typed into TYPE:VALUE.
function queryFor(text) {
  text = text.trim();
  if (/^[a-z_]+:/.test(text)) return text;
  if (text.includes("@")) return "email:" + text;
  if (/^\+?[\d\s().-]{6,}$/.test(text)) return "phone:" + text;
  return "customer_id:" + text;
}

async function profilesPage(main) {
  const pre = decodeURIComponent(location.hash.replace(/^#\/?profiles\/?/, ""));
  const input = h("input", { id: "lookup", type: "search", placeholder: "e-mail, phone, customer number, or type:value", value: pre && !pre.includes(":") ? "" : pre, autocomplete: "off" });
  const out = h("div", { id: "profile" });
  main.append(h("h1", {}, "Customer lookup"),
    h("form", { class: "card search", onsubmit: (ev) => { ev.preventDefault(); lookup(queryFor(input.value)); } },
      input, h("button", { class: "primary", type: "submit", id: "lookup-go" }, "Look up"),
      h("p", { class: "hint" }, "Anything we know a person by: an e-mail address, a phone number (any format), a customer number, or any other identifier as type:value, e.g. device_id:abc123.")),
    out);
  if (!can("admin", "support")) {
    out.append(h("p", { class: "card note" }, "Looking customers up is for support agents and administrators: your role (" + state.me.role + ") sees segments and syncs only."));
    input.disabled = true;
    return;
  }
  input.focus();
  if (pre) lookup(pre.includes(":") ? pre : "profile_id:" + pre);

  async function lookup(q) {
    put(out, h("p", { class: "muted" }, "Looking up " + q + "…"));
    let r;
    try {
      r = await api("GET", "/profiles/lookup?q=" + encodeURIComponent(q));
    } catch (e) {
      put(out, e.status === 404 ? h("p", { class: "card note", id: "not-found" }, "Nobody is known by " + q + ". Check the spelling, or try another identifier.") : errorBox(e));
      return;
    }
    put(out, profileView(r));
  }
}

function profileView(r) {
  const idt = (r.identity && r.identity.identifiers) || [];
  const p = r.profile || {};
  const bySource = new Map();
  for (const i of idt) for (const s of (i.sources && i.sources.length ? i.sources : ["unknown source"])) {
    if (!bySource.has(s)) bySource.set(s, []);
    bySource.get(s).push(i);
  }
  const traits = p.traits || [];
  const segs = p.segments || [];
  const events = (p.events || []).slice().sort((a, b) => new Date(b.at) - new Date(a.at));
  const tv = (n) => (traits.find((t) => t.name === n) || {}).value;
  const title = [tv("first_name"), tv("last_name")].filter(Boolean).join(" ") || tv("name") || tv("email");
  return h("div", { class: "profile" },
    h("div", { class: "card person" },
      h("h2", { id: "person-title" }, title ? show(title) : "Customer"),
      h("p", { class: "muted small" }, "Profile " + (r.identity ? r.identity.profile_id : p.profile_id))),
    h("div", { class: "cols2" },
      h("div", { class: "card" }, h("h3", {}, "Known as"),
        [...bySource.entries()].map(([src, ids]) => h("div", { class: "source" }, h("h4", {}, humanize(src)),
          h("ul", { class: "plain" }, ids.map((i) => h("li", {}, h("span", { class: "tag" }, humanize(i.type)), " ", i.value,
            h("span", { class: "muted small" }, " since " + fmtTime(i.first_seen_at)))))))),
      h("div", { class: "card" }, h("h3", {}, "Details"),
        h("table", { class: "kv", id: "traits" }, h("tbody", {}, traits.map((t) => h("tr", {}, h("th", {}, humanize(t.name)), h("td", {}, show(t.value)))))))),
    h("div", { class: "cols2" },
      h("div", { class: "card" }, h("h3", {}, "Segments"),
        segs.length ? h("ul", { class: "chips", id: "segments" }, segs.map((s) => h("li", { title: "since " + fmtTime(s.entered_at) }, humanize(s.segment), s.holdout ? " (held out)" : "", s.arm ? " · " + s.arm : ""))) : h("p", { class: "muted" }, "In no segment.")),
      h("div", { class: "card" }, h("h3", {}, "Sent to"),
        r.deliveries && r.deliveries.length ? h("ul", { class: "plain" }, r.deliveries.map((d) => h("li", {}, humanize(d.sync || d.destination), " ", h("span", { class: "muted small" }, fmtTime(d.at || d.sent_at)))))
          : h("p", { class: "muted" }, "Which destinations this person was sent to is not available yet."))),
    h("div", { class: "card" }, h("h3", {}, "Recent activity"),
      events.length ? h("ol", { class: "timeline", id: "timeline" }, events.map((e) => h("li", {},
        h("span", { class: "when" }, fmtTime(e.at)), " ", h("strong", {}, humanize(e.name || e.source)), " ", h("span", { class: "tag" }, humanize(e.source)),
        e.columns ? h("div", { class: "muted small" }, Object.entries(e.columns).filter(([, v]) => v !== null && v !== "").slice(0, 5).map(([k, v]) => humanize(k) + ": " + show(v)).join(" · ")) : null)))
        : h("p", { class: "muted" }, "No recent events.")));
}

// ---- campaign results ------------------------------------------------------------

async function resultsPage(main) {
  main.append(h("h1", {}, "Campaign results"));
  const cat = await catalog();
  const box = h("div", { id: "results" });
  main.append(box);
  // Lift is measured on segments with a holdout; ask for the first one to
  // learn whether the server computes lift at all.
  let lift = null, problem = null;
  const probe = cat.segments[0];
  if (probe) {
    try { lift = await api("GET", "/segments/" + encodeURIComponent(probe) + "/lift"); } catch (e) { problem = e; }
  }
  if (!lift && (!problem || problem.status === 404 || problem.status === 501 || problem.status === 405)) {
    box.append(h("div", { class: "card note", id: "not-available" },
      h("h2", {}, "Not available yet"),
      h("p", {}, "This page will show, for a segment with a holdout group, how much better the people who were sent a campaign did than the people held back — with a chart and its margin of error."),
      h("p", {}, "The server does not compute these results yet. Segments with a holdout already keep their held-out members apart, so the results can be shown as soon as it does.")));
    return;
  }
  if (problem) { box.append(errorBox(problem)); return; }
  const points = (lift.points || lift.series || []).map((p) => ({ x: new Date(p.at || p.date), y: p.lift, lo: p.low ?? p.lo, hi: p.high ?? p.hi }));
  box.append(h("div", { class: "card" }, h("h2", {}, humanize(probe) + (lift.metric ? " — " + humanize(lift.metric) : "")),
    lineChart([{ name: "Lift", cls: "s1", points }], { pct: true, label: "lift with confidence interval" })));
}

document.addEventListener("DOMContentLoaded", start);
