// Customer lookup for support agents: find a person by anything they are
// known by, see who they are across sources, what they did, and where they
// were sent; administrators can also export their data or forget them.
"use strict";

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
  const input = h("input", { id: "lookup", type: "search", placeholder: "e-mail, phone, customer number, or type:value", value: pre && !pre.includes(":") ? "" : pre,
    autocomplete: "off", "aria-describedby": "lookup-hint" });
  const out = h("div", { id: "profile", "aria-live": "polite" });
  put(main, h("h1", {}, "Customer lookup"),
    h("form", { class: "card search", role: "search", onsubmit: (ev) => { ev.preventDefault(); if (input.value.trim()) lookup(queryFor(input.value)); } },
      h("label", { for: "lookup", class: "visually-hidden" }, "Find a customer"),
      input, h("button", { class: "primary", type: "submit", id: "lookup-go" }, "Look up"),
      h("p", { class: "hint", id: "lookup-hint" }, "Anything we know a person by: an e-mail address, a phone number (any format), a customer number, or any other identifier as type:value, e.g. device_id:abc123.")),
    out);
  if (!can("admin", "support")) {
    out.append(h("p", { class: "card note" }, "Looking customers up is for support agents and administrators: your role (" + state.me.role + ") sees segments and syncs only."));
    input.disabled = true;
    return;
  }
  input.focus();
  if (pre) lookup(pre.includes(":") ? pre : "profile_id:" + pre);

  async function lookup(q) {
    put(out, loading("Looking up " + q + "…"));
    let r;
    try {
      r = await api("GET", "/profiles/lookup?q=" + encodeURIComponent(q));
    } catch (e) {
      put(out, e.status === 404 ? h("p", { class: "card note", id: "not-found" }, "Nobody is known by " + q + ". Check the spelling, or try another identifier.") : errorBox(e));
      return;
    }
    put(out, profileView(r, q));
  }
}

function profileView(r, q) {
  const p = r.profile || {};
  const traits = p.traits || [];
  const tv = (n) => (traits.find((t) => t.name === n) || {}).value;
  const title = [tv("first_name"), tv("last_name")].filter(Boolean).join(" ") || tv("name") || tv("email");
  const id = r.identity ? r.identity.profile_id : p.profile_id;
  return h("div", { class: "profile" },
    h("div", { class: "card person" },
      h("div", { class: "person-head" },
        h("div", {}, h("h2", { id: "person-title" }, title ? show(title) : "Customer"), h("p", { class: "muted small" }, "Profile " + id)),
        can("admin") ? adminActions(r, q) : null),
      h("div", { id: "admin-result", "aria-live": "polite" })),
    h("div", { class: "cols2" },
      h("section", { class: "card", "aria-labelledby": "h-known" }, h("h3", { id: "h-known" }, "Known as"), identifiersBySource(r)),
      h("section", { class: "card", "aria-labelledby": "h-details" }, h("h3", { id: "h-details" }, "Details"),
        h("table", { class: "kv", id: "traits" }, h("tbody", {}, traits.map((t) => h("tr", {}, h("th", { scope: "row" }, humanize(t.name)), h("td", {}, show(t.value)))))))),
    h("div", { class: "cols2" },
      h("section", { class: "card", "aria-labelledby": "h-segments" }, h("h3", { id: "h-segments" }, "Segments"), segmentChips(p.segments || [])),
      h("section", { class: "card", "aria-labelledby": "h-sent" }, h("h3", { id: "h-sent" }, "Sent to"), deliveries(r.deliveries))),
    h("section", { class: "card", "aria-labelledby": "h-activity" }, h("h3", { id: "h-activity" }, "Recent activity"), timeline(p.events || [])));
}

function identifiersBySource(r) {
  const bySource = new Map();
  for (const i of (r.identity && r.identity.identifiers) || []) {
    for (const s of (i.sources && i.sources.length ? i.sources : ["unknown source"])) {
      if (!bySource.has(s)) bySource.set(s, []);
      bySource.get(s).push(i);
    }
  }
  if (!bySource.size) return h("p", { class: "muted" }, "No identifier.");
  return h("div", { id: "identifiers" }, [...bySource.entries()].map(([src, ids]) => h("div", { class: "source", "data-source": src }, h("h4", {}, humanize(src)),
    h("ul", { class: "plain" }, ids.map((i) => h("li", {}, h("span", { class: "tag" }, humanize(i.type)), " ", show(i.value),
      i.first_seen_at ? h("span", { class: "muted small" }, " since " + fmtDate(i.first_seen_at)) : null))))));
}

function segmentChips(segs) {
  if (!segs.length) return h("p", { class: "muted" }, "In no segment.");
  return h("ul", { class: "chips", id: "segments" }, segs.map((s) => h("li", { title: "since " + fmtTime(s.entered_at) },
    humanize(s.segment), s.holdout ? " (held out: never sent)" : "", s.arm ? " · group " + s.arm : "")));
}

const DELIVERY_WORDS = { add: "added", update: "updated", remove: "removed", erase: "erased" };

// deliveries says which destinations the person was sent to, newest first.
function deliveries(list) {
  if (list === undefined || list === null) return h("p", { class: "muted" }, "This server does not say which destinations the person was sent to.");
  if (!list.length) return h("p", { class: "muted", id: "deliveries-none" }, "Not sent to any destination yet.");
  const rows = list.slice().sort((a, b) => new Date(b.at) - new Date(a.at));
  return h("table", { class: "sample", id: "deliveries" },
    h("thead", {}, h("tr", {}, ["Destination", "As", "Result", "When"].map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.map((d) => h("tr", { "data-sync": d.sync },
      h("td", {}, h("strong", {}, humanize(d.destination || d.sync)), h("div", { class: "muted small" },
        (d.sync ? "by " + humanize(d.sync) : "") + (d.region ? ", kept " + regionWords(d.region) : ""))),
      h("td", {}, d.key ? joinNodes(Object.values(d.key).map(show), ", ") : "–", d.action ? h("div", { class: "muted small" }, DELIVERY_WORDS[d.action] || humanize(d.action)) : null),
      h("td", {}, h("span", { class: "health " + ({ sent: "good", rejected: "bad", pending: "idle" }[d.status] || "idle") }, humanize(d.status || "")),
        d.reason ? h("div", { class: "small bad-text" }, d.reason) : null),
      h("td", {}, d.at ? fmtTime(d.at) : "–")))));
}

function timeline(events) {
  if (!events.length) return h("p", { class: "muted" }, "No recent events.");
  const sorted = events.slice().sort((a, b) => new Date(b.at) - new Date(a.at));
  return h("ol", { class: "timeline", id: "timeline" }, sorted.map((e) => h("li", {},
    h("span", { class: "when" }, fmtTime(e.at)), " ", h("strong", {}, humanize(e.name || e.source)), " ", h("span", { class: "tag" }, humanize(e.source)),
    e.columns ? h("div", { class: "muted small" }, joinNodes(Object.entries(e.columns).filter(([, v]) => v !== null && v !== "").slice(0, 5).map(([k, v]) => [humanize(k) + ": ", show(v)]), " · ")) : null)));
}

// ---- for administrators: subject access request and erasure ----

// identOf is the identifier the admin actions name the person by: the one
// looked up, else the first the profile holds.
function identOf(r, q) {
  if (q && !q.startsWith("profile_id:")) return q;
  const first = ((r.identity && r.identity.identifiers) || [])[0];
  return first ? first.type + ":" + first.value : q;
}

function adminActions(r, q) {
  const ident = identOf(r, q);
  return h("div", { class: "actions admin-actions" },
    h("button", { id: "export", onclick: (ev) => exportPerson(ident, ev.target) }, "Export (subject access request)"),
    h("button", { class: "danger", id: "forget", onclick: (ev) => forgetPerson(r, ident, ev.target) }, "Forget this person"));
}

async function exportPerson(ident, button) {
  const out = document.getElementById("admin-result");
  try {
    const data = await busy(button, "Exporting…", () => api("GET", "/profiles/export?identifier=" + encodeURIComponent(ident)));
    const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
    const file = "cohort-export-" + (data.profile_id || "forgotten") + ".json";
    const n = (k) => fmtNum(Array.isArray(data[k]) ? data[k].length : Object.keys(data[k] || {}).length);
    put(out, h("div", { class: "note card", id: "export-ready" },
      data.suppressed ? h("p", {}, "This person was forgotten" + (data.forgotten_at ? " on " + fmtDate(data.forgotten_at) : "") + ": Cohort holds nothing else about them.")
        : h("p", {}, "The export is ready: everything Cohort holds about this person — " + n("identifiers") + " identifiers, " + n("traits") + " details, " +
          n("segments") + " segments, " + n("deliveries") + " deliveries, " + n("recent_events") + " recent events, and how many rows each source holds."),
      h("a", { href: URL.createObjectURL(blob), download: file, class: "button", id: "export-download" }, "Download " + file),
      h("p", { class: "hint" }, "The export is written in the audit log. Send it to the person through your usual secure channel.")));
  } catch (e) { put(out, errorBox(e)); }
}

async function forgetPerson(r, ident, button) {
  const sent = [...new Set((r.deliveries || []).filter((d) => d.status !== "rejected").map((d) => humanize(d.destination || d.sync)))];
  const ids = (r.identity && r.identity.identifiers) || [];
  const ok = await confirmDialog("Forget this person?", h("div", { id: "forget-explained" },
    h("p", {}, "This is the right to erasure (GDPR article 17). It cannot be undone. Cohort will:"),
    h("ol", {},
      h("li", {}, "put all " + fmtNum(ids.length) + " identifiers of this person (e-mail addresses, phone numbers, ids) on the suppression list, so they never come back in a later run;"),
      h("li", {}, "remove them from the unified profiles, segments and their history now;"),
      h("li", {}, sent.length ? "ask " + sent.join(", ") + " (and any other destination of the project's syncs that holds them) to delete them, and record each answer;"
        : "ask each destination of the project's syncs to delete them if it holds them, and record each answer;"),
      h("li", {}, "list the sources that still hold their rows: Cohort never changes sources, so your data team deletes them there.")),
    h("p", {}, "Identifier: ", h("strong", {}, ident))), "Forget this person", true);
  if (!ok) return;
  const out = document.getElementById("admin-result");
  try {
    const rep = await busy(button, "Forgetting…", () => api("POST", "/profiles/forget", { identifier: ident }));
    // the person is gone from Cohort: only the header and the report stay
    const view = button.closest(".profile");
    put(view, view.querySelector(".person"));
    put(out, forgetReport(rep));
    toast("Forgotten. The report says what happened.");
  } catch (e) { put(out, errorBox(e)); }
}

const ERASURE_WORDS = { erased: ["good", "Deleted"], removed: ["good", "Taken off the audience"], not_held: ["idle", "Did not hold them"], failed: ["bad", "Failed — will be retried"], unsupported: ["warn", "Cannot delete: do it in the tool"], not_in_project: ["bad", "Sync no longer in the project: delete them in the tool"] };

function forgetReport(rep) {
  const sources = Object.entries(rep.sources_holding_rows || {});
  const removed = Object.entries(rep.removed_rows || {}).filter(([, n]) => n > 0);
  return h("div", { class: "card note", id: "forget-report" },
    h("h3", {}, rep.done ? "Forgotten" : "Forgotten, with steps still pending"),
    h("p", {}, fmtNum(rep.identifiers) + " identifiers are on the suppression list (request " + short(rep.request_id || "") + ", person " + (rep.identifier || "") + ")."),
    removed.length ? h("details", { class: "asked" }, h("summary", {}, "Removed " + plural(removed.reduce((a, [, n]) => a + n, 0), "row") + " from Cohort's tables"),
      h("ul", { class: "plain small" }, removed.map(([t, n]) => h("li", {}, humanize(t) + ": " + fmtNum(n))))) : null,
    h("h4", {}, "Destinations"),
    (rep.erasures || []).length ? h("ul", { class: "plain", id: "erasures" }, rep.erasures.map((e) => {
      const [cls, words] = ERASURE_WORDS[e.status] || ["idle", humanize(e.status)];
      return h("li", { "data-sync": e.sync }, h("strong", {}, humanize(e.destination || e.sync)), e.sync ? h("span", { class: "muted small" }, " by " + humanize(e.sync)) : null, " ",
        h("span", { class: "health " + cls }, words), e.detail ? h("span", { class: "muted small" }, " " + e.detail) : null);
    })) : h("p", { class: "muted" }, "No destination had received this person."),
    h("h4", {}, "Still in the sources"),
    sources.length ? h("ul", { class: "plain", id: "sources-holding" }, sources.map(([s, n]) => h("li", {}, humanize(s) + ": " + plural(n, "row") + " — ask the data team to delete them there.")))
      : h("p", { class: "muted" }, "No source holds rows of this person."),
    rep.error ? h("p", { class: "bad-text" }, rep.error) : null,
    rep.done ? null : h("p", { class: "hint" }, (rep.erasures || []).some((e) => e.status === "failed")
      ? "Steps that could not finish (a destination that did not answer) are finished by the next run or sync; the person stays suppressed meanwhile."
      : "A destination Cohort could not ask still holds this person: delete them there by hand."));
}
