// The sync dashboard (every sync with its health, runs, chart and
// rejections), running a sync now or dry, and the form that creates a sync
// from the segment builder.
"use strict";

const HEALTH = {
  healthy: ["good", "Healthy"], degraded: ["warn", "Some rejected"], failing: ["bad", "Failing"],
  running: ["idle", "Running"], paused: ["paused", "Paused"], never_run: ["idle", "Never run"],
};

function health(s) {
  const said = HEALTH[s.health];
  if (said) return { cls: said[0], word: said[1] };
  if (s.paused) return { cls: "paused", word: "Paused" };
  const r = s.last_run;
  if (!r) return { cls: "idle", word: "Never run" };
  if (r.status === "failed" || r.error) return { cls: "bad", word: "Failing" };
  if (r.rejected > 0 || r.status === "partial") return { cls: "warn", word: "Some rejected" };
  if (r.status === "running") return { cls: "idle", word: "Running" };
  return { cls: "good", word: "Healthy" };
}

function opWord(op) { return { add: "Add", upsert: "Add", change: "Change", update: "Change", remove: "Remove", delete: "Remove", erase: "Erase" }[op] || humanize(op || ""); }

const REGION_WORDS = { eu: "in the EU", eea: "in the EEA", us: "in the United States" };
function regionWords(r) { return !r ? "–" : REGION_WORDS[String(r).toLowerCase()] || "in " + String(r).toUpperCase(); }

// runSync runs a sync, or dry-runs it (nothing is sent), and says what it
// did in the sync's result box.
async function runSync(name, dry, button) {
  const out = document.getElementById("sync-result-" + name);
  const go = () => api("POST", "/syncs/" + encodeURIComponent(name) + (dry ? "/dry-run" : "/run"));
  if (out) put(out, loading(dry ? "Working out what would be sent…" : "Sending…"));
  try {
    const r = button ? await busy(button, dry ? "Checking…" : "Sending…", go) : await go();
    const words = (dry ? "A run now would add " : "Sent: added ") + fmtNum(r.added) + ", change " + fmtNum(r.changed) + " and remove " + fmtNum(r.removed) +
      (dry ? " — nothing was sent." : ".") + (!dry && r.run && r.run.rejected ? " " + fmtNum(r.run.rejected) + " were rejected." : "");
    if (out) put(out, runSummary(r, dry, words));
    toast(words, !dry && r.run && r.run.status === "failed");
    return r;
  } catch (e) {
    if (out) put(out, errorBox(e));
    toast(e.message, true);
    return null;
  }
}

function runSummary(r, dry, words) {
  return [
    h("p", { class: dry ? "note dry-result" : "note run-result" }, words),
    r.consent ? h("p", { class: "hint" }, "Who may be sent: " + r.consent + ".") : null,
    r.sample && r.sample.length ? h("table", { class: "sample" },
      h("caption", {}, dry ? "Some of what would be sent" : "Some of what was sent"),
      h("thead", {}, h("tr", {}, h("th", {}, "What"), h("th", {}, "Who"), h("th", {}, "Fields"))),
      h("tbody", {}, r.sample.slice(0, 5).map((x) => h("tr", {},
        h("td", {}, opWord(x.op)),
        h("td", {}, Object.keys(x.key || {}).length ? joinNodes(Object.values(x.key).map(show), ", ") : short(x.profile_id)),
        h("td", { class: "small" }, joinNodes(Object.entries(x.fields || {}).slice(0, 4).map(([k, v]) => [humanize(k) + ": ", show(v)]), " · ")))))) : null,
  ];
}

async function syncsPage(main) {
  const syncs = await api("GET", "/syncs");
  const writer = can("admin", "editor", "marketer"), pauser = can("admin", "editor");
  const grid = h("div", { class: "syncs" });
  put(main, h("h1", {}, "Syncs"),
    h("p", { class: "muted" }, "Each sync sends the members of a segment to a marketing tool and keeps them up to date. A dry run shows what would be sent, without sending."),
    syncs.length ? grid : h("p", { class: "card" }, "This project has no sync yet. Open a segment to create one."));
  for (const s of syncs) grid.append(syncCardFor(s, { writer, pauser, open: syncs.length <= 4 }));
}

function syncsPageReload() { if ((location.hash || "").startsWith("#/syncs")) route(); }

function syncCardFor(s, can) {
  const hl = health(s);
  const detail = h("div", { class: "sync-detail" });
  const name = encodeURIComponent(s.name);
  const pause = async (ev) => {
    try { await busy(ev.target, "…", () => api("POST", "/syncs/" + name + (s.paused ? "/resume" : "/pause"))); syncsPageReload(); } catch (e) { toast(e.message, true); }
  };
  const del = async () => {
    const ok = await confirmDialog("Delete the sync “" + humanize(s.name) + "”?",
      h("p", {}, "It stops sending " + humanize(s.segment) + " to " + humanize(s.destination) + ". The people already there stay there."), "Delete", true);
    if (!ok) return;
    try { await api("DELETE", "/syncs/" + name); toast("Deleted “" + humanize(s.name) + "”."); syncsPageReload(); } catch (e) { toast(e.message, true); }
  };
  const toggle = h("button", { class: "link history", "aria-expanded": String(can.open), onclick: (ev) => {
    const shown = detail.childElementCount > 0;
    ev.target.setAttribute("aria-expanded", String(!shown));
    if (shown) put(detail); else syncDetail(s, detail);
  } }, "History");
  const card = h("article", { class: "card sync", "data-sync": s.name, "aria-labelledby": "sync-title-" + s.name },
    h("div", { class: "sync-head" },
      h("h2", { id: "sync-title-" + s.name }, humanize(s.name)),
      s.source === "ui" ? h("span", { class: "tag ui", title: "Created in the web UI" }, "created here") : null,
      h("span", { class: "health " + hl.cls }, hl.word)),
    h("p", {}, "Sends ", h("strong", {}, humanize(s.segment)), " to ", h("strong", {}, humanize(s.destination)), s.type ? " (" + humanize(s.type) + ")" : "",
      s.mode ? ", " + modeWords(s.mode) : ""),
    h("dl", { class: "facts" },
      h("dt", {}, "Last run"), h("dd", { class: "last-run" }, lastRunWords(s.last_run)),
      h("dt", {}, "Next run"), h("dd", {}, s.next_run ? fmtTime(s.next_run) : s.paused ? "paused" : s.schedule ? "on schedule: " + s.schedule : "when started by hand"),
      h("dt", {}, "Where"), h("dd", { class: "region" }, regionWords(s.region)),
      s.allowed_profiles !== undefined && s.allowed_profiles !== null ? [h("dt", {}, "May receive"),
        h("dd", { class: "allowed" }, fmtNum(s.allowed_profiles) + " people", h("span", { class: "hint" }, " — members with the consent this sync needs" + (s.purpose ? " (" + humanize(s.purpose) + ")" : "") + " and a value to match on"))] : null,
      s.last_run && s.last_run.error ? [h("dt", {}, "Problem"), h("dd", { class: "bad-text" }, maskText(s.last_run.error))] : null),
    h("div", { class: "actions" },
      can.writer ? h("button", { class: "primary run-now", onclick: (ev) => runSync(s.name, false, ev.target).then(() => syncsPageReload()) }, "Run now") : null,
      can.writer ? h("button", { class: "dry-run", onclick: (ev) => runSync(s.name, true, ev.target) }, "Dry run") : null,
      can.pauser ? h("button", { class: "pause", onclick: pause }, s.paused ? "Resume" : "Pause") : null,
      can.pauser && s.source === "ui" ? h("button", { class: "danger delete-sync", onclick: del }, "Delete") : null,
      toggle),
    h("div", { class: "sync-result", id: "sync-result-" + s.name, "aria-live": "polite" }),
    detail);
  if (can.open) syncDetail(s, detail);
  return card;
}

function modeWords(mode) {
  return { mirror: "kept in step (people who leave the segment are removed)", upsert: "added and updated (never removed)", insert: "added only" }[mode] || mode;
}

function lastRunWords(r) {
  if (!r) return "never";
  return fmtTime(r.finished_at || r.started_at) + " — added " + fmtNum(r.added) + ", changed " + fmtNum(r.changed) + ", removed " + fmtNum(r.removed) +
    (r.rejected ? ", rejected " + fmtNum(r.rejected) : "");
}

async function syncDetail(s, box) {
  put(box, loading("Loading history…"));
  let runs = [], hist = [];
  try {
    [runs, hist] = await Promise.all([
      api("GET", "/syncs/" + encodeURIComponent(s.name) + "/runs"),
      api("GET", "/segments/" + encodeURIComponent(s.segment) + "/history").catch(() => []),
    ]);
  } catch (e) { put(box, errorBox(e)); return; }
  runs = runs || []; hist = hist || [];
  const byTime = runs.slice().sort((a, b) => new Date(a.started_at) - new Date(b.started_at));
  const rejBox = h("div", { class: "rejections", "aria-live": "polite" });
  put(box,
    h("h3", {}, "Members and changes over time"),
    lineChart([
      { name: "Members of " + humanize(s.segment), cls: "s1", points: hist.map((x) => ({ x: new Date(x.run_at), y: x.members })) },
      { name: "Changes sent per run", cls: "s2", bars: true, right: true, points: byTime.map((r) => ({ x: new Date(r.started_at), y: (r.added || 0) + (r.changed || 0) + (r.removed || 0) })) },
    ], { label: "Members of " + humanize(s.segment) + " and changes sent by " + humanize(s.name) + " over time", empty: "No run yet: the chart fills in after the first runs." }),
    h("h3", {}, "Run history"),
    runs.length ? runTable(s, runs, rejBox) : h("p", { class: "muted" }, "No run yet."),
    rejBox);
}

function runTable(s, runs, rejBox) {
  return h("table", { class: "runs" },
    h("thead", {}, h("tr", {}, ["Started", "Result", "Added", "Changed", "Removed", "Rejected", ""].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, runs.slice(0, 20).map((r) => h("tr", { "data-run": r.id },
      h("td", {}, fmtTime(r.started_at)),
      h("td", {}, h("span", { class: "health " + (r.status === "failed" ? "bad" : r.rejected || r.status === "partial" ? "warn" : r.status === "running" ? "idle" : "good") }, humanize(r.status || "")),
        r.error ? h("div", { class: "small bad-text" }, maskText(r.error)) : null),
      h("td", {}, fmtNum(r.added)), h("td", {}, fmtNum(r.changed)), h("td", {}, fmtNum(r.removed)), h("td", {}, fmtNum(r.rejected)),
      h("td", {}, r.rejected ? h("button", { class: "link why", onclick: () => rejections(s.name, r, rejBox) }, "Why rejected?") : null)))));
}

async function rejections(sync, run, box) {
  put(box, loading("Loading the rejected rows…"));
  try {
    const rows = await api("GET", "/syncs/" + encodeURIComponent(sync) + "/runs/" + encodeURIComponent(run.id) + "/rejections");
    put(box, h("h3", {}, "Rejected by the destination on " + fmtTime(run.started_at)),
      rows.length ? h("table", { class: "sample rejected" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Who"), h("th", { scope: "col" }, "Reason"), h("th", { scope: "col" }, "When"))),
        h("tbody", {}, rows.map((x) => h("tr", {}, h("td", {}, keyWords(x.key) || short(x.profile_id)), h("td", {}, maskText(x.reason)), h("td", {}, fmtTime(x.rejected_at))))))
        : h("p", { class: "muted" }, "The rejected rows of this run are no longer kept (see retention in the project's settings)."));
  } catch (e) { put(box, errorBox(e)); }
}

// keyWords is a match key as the API gives it: text, or {email: ...}.
function keyWords(k) {
  if (!k) return "";
  if (typeof k === "string") return show(k);
  return Object.values(k).join(", ");
}

// ---- create a sync from the segment builder ----

const MODES = [
  ["mirror", "Keep it in step", "add new members, update changes, remove people who leave the segment"],
  ["upsert", "Add and update", "never removes anyone from the tool"],
  ["insert", "Add only", "sends new members once; no updates, no removals"],
];
const SCHEDULES = [
  ["", "Only when someone presses Run now"],
  ["@every 15m", "Every 15 minutes"],
  ["@every 1h", "Every hour"],
  ["0 6 * * *", "Every day at 06:00"],
  ["0 6 * * 1", "Every Monday at 06:00"],
];

// syncForm is the "create a sync" form for a saved segment; editors and
// administrators create, others see who can.
function syncForm(segment, cat, created, syncs) {
  const wrap = h("details", { class: "create-sync", id: "create-sync" }, h("summary", {}, "Create a sync for this segment"));
  if (!can("admin", "editor")) {
    wrap.append(h("p", { class: "muted" }, "An editor or administrator creates syncs. Ask one to send “" + humanize(segment) + "” to the tool you need; once it exists you can run it from here."));
    return wrap;
  }
  // what a destination is and where it keeps its data: the catalog's
  // destination_info when the server gives it, else what its syncs say
  const info = (name) => (cat.destination_info || []).find((d) => d.name === name) ||
    (syncs || []).filter((x) => x.destination === name).map((x) => ({ type: x.type, region: x.region }))[0] || {};
  const traits = cat.traits.map((t) => [t.name, humanize(t.name)]);
  const f = { destination: "", name: "", nameTouched: false, mode: "mirror", purpose: "", schedule: "",
    match: cat.traits.some((t) => t.name === "email") ? [["email", "email"]] : [["", ""]], fields: [] };
  const form = h("form", { class: "sync-form", novalidate: true });
  const out = h("div", { id: "create-sync-result", "aria-live": "polite" });

  const pairRows = (list, what) => h("div", { class: "pairs", "data-pairs": what }, list.map((p, i) => h("div", { class: "pair" },
    h("input", { class: "pair-key", "aria-label": what + " " + (i + 1) + ": name in the tool", value: p[0], placeholder: "name in the tool", oninput: (ev) => { p[0] = ev.target.value; } }),
    " ← ",
    h("select", { class: "pair-trait", "aria-label": what + " " + (i + 1) + ": trait", onchange: (ev) => { p[1] = ev.target.value; if (!p[0]) { p[0] = ev.target.value; draw(); } } },
      h("option", { value: "" }, "choose a trait…"), traits.map(([v, w]) => h("option", { value: v, selected: v === p[1] }, w))),
    h("button", { type: "button", class: "link remove", "aria-label": "Remove " + what + " " + (i + 1), onclick: () => { list.splice(i, 1); draw(); } }, "✕"))),
  h("button", { type: "button", class: "link add-pair", onclick: () => { list.push(["", ""]); draw(); } }, "+ add"));

  function draw() {
    const d = info(f.destination);
    const dest = h("select", { id: "sync-destination", required: true, onchange: (ev) => { f.destination = ev.target.value; if (!f.nameTouched) f.name = defaultName(); draw(); } },
      h("option", { value: "" }, "choose a destination…"),
      cat.destinations.map((n) => h("option", { value: n, selected: n === f.destination }, humanize(n) + (info(n).type ? " (" + humanize(info(n).type) + ")" : ""))));
    const purposes = cat.purposes || [];
    const purpose = purposes.length
      ? h("select", { id: "sync-purpose", onchange: (ev) => { f.purpose = ev.target.value; } },
        h("option", { value: "" }, "none (an internal system)"),
        purposes.map((p) => h("option", { value: p.name, selected: p.name === f.purpose }, humanize(p.name) + " — needs " + humanize(p.trait))))
      : h("input", { id: "sync-purpose", value: f.purpose, placeholder: "e.g. marketing_email", oninput: (ev) => { f.purpose = ev.target.value; } });
    put(form,
      labelled("Send to", dest, d.region ? "This tool keeps its data " + regionWords(d.region) + (d.internal ? " and is one of the company's own systems." : /^(eu|eea)$/i.test(d.region) ? "." : ": only people who agreed to a transfer outside the EU are sent.") : null),
      labelled("Name of the sync", h("input", { id: "sync-name", value: f.name, pattern: "[a-z][a-z0-9_]*", oninput: (ev) => { f.name = ev.target.value; f.nameTouched = true; } }), "lower-case letters, digits and _"),
      h("fieldset", { class: "modes" }, h("legend", {}, "How to keep the tool up to date"),
        MODES.map(([v, words, more]) => h("label", { class: "radio" },
          h("input", { type: "radio", name: "sync-mode", value: v, checked: f.mode === v, onchange: () => { f.mode = v; } }),
          h("span", {}, h("strong", {}, words), " — " + more)))),
      labelled("Consent needed", purpose, "Only people who gave this consent are sent; people who withdraw it are removed."),
      h("fieldset", {}, h("legend", {}, "Find people in the tool by"), pairRows(f.match, "match key"),
        h("p", { class: "hint" }, "For example the e-mail address: the tool's name for it, and the trait that holds it.")),
      h("fieldset", {}, h("legend", {}, "Also send these details (optional)"), pairRows(f.fields, "field")),
      labelled("When to send", h("select", { id: "sync-schedule", onchange: (ev) => { f.schedule = ev.target.value; } },
        SCHEDULES.map(([v, w]) => h("option", { value: v, selected: v === f.schedule }, w)))),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "create-sync-go" }, "Create sync")),
      out);
  }

  function defaultName() { return (segment + "_to_" + f.destination).toLowerCase().replace(/[^a-z0-9_]/g, "_"); }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    put(out);
    const body = { name: f.name.trim(), segment, destination: f.destination, mode: f.mode,
      match: Object.fromEntries(f.match.filter((p) => p[0] && p[1])), fields: Object.fromEntries(f.fields.filter((p) => p[0] && p[1])) };
    if (f.purpose.trim()) body.purpose = f.purpose.trim();
    if (f.schedule) body.schedule = f.schedule;
    if (!body.destination) { put(out, errorBox(new Error("Choose where to send the segment."))); form.querySelector("#sync-destination").focus(); return; }
    try {
      const s = await busy(form.querySelector("#create-sync-go"), "Creating…", () => api("POST", "/syncs", body));
      toast("Created the sync “" + humanize(s.name || body.name) + "”. Try a dry run to see what it would send.");
      state.catalog = null;
      created();
    } catch (e) {
      put(out, errorBox(e));
    }
  });
  draw();
  wrap.append(form);
  return wrap;
}
