// The segments page: the list of segments, the builder (a tree of groups
// and conditions, see conditions.js), the live count and sample, the
// overlap with another segment, and the syncs that send it.
"use strict";

async function segmentsPage(main) {
  const cat = await catalog();
  const list = await api("GET", "/segments");
  const writer = can("admin", "editor", "marketer");
  const b = { name: "", description: "", root: newGroup(), editing: null, readOnly: false };
  const fresh = () => Object.assign(b, { name: "", description: "", root: newGroup(), editing: null, readOnly: false, holdout: "", source: "" });

  const side = h("aside", { class: "card seglist", "aria-label": "Segments" });
  const body = h("section", { class: "builder", "aria-label": "Segment builder" });
  const preview = h("section", { class: "card preview", id: "preview", "aria-live": "polite", "aria-label": "Who is in it" });
  put(main, h("div", { class: "cols" }, side, body, preview));

  function drawList() {
    put(side, h("h2", {}, "Segments"),
      writer ? h("button", { class: "primary wide", id: "new-segment", onclick: () => { fresh(); draw(); focusFirst(); } }, "+ New segment") : null,
      h("ul", {}, list.map((s) => h("li", {},
        h("a", { href: "#/segments", class: b.editing === s.name ? "active" : "", "aria-current": b.editing === s.name ? "true" : null, "data-segment": s.name,
          onclick: (ev) => { ev.preventDefault(); open(s.name); } }, humanize(s.name)),
        s.read_only ? h("span", { class: "tag", title: "Defined in the project's files: read-only here" }, "project") : h("span", { class: "tag ui" }, "saved here"),
        s.description ? h("div", { class: "muted small" }, s.description) : null))));
  }

  function focusFirst() { const el = body.querySelector("select, input:not([disabled])"); if (el) el.focus(); }

  async function open(name) {
    let s;
    try { s = await api("GET", "/segments/" + encodeURIComponent(name)); } catch (e) { toast(e.message, true); return; }
    const d = s.definition || {};
    Object.assign(b, { name: s.name, description: s.description || d.description || "", editing: s.name, readOnly: !!s.read_only, root: treeFrom(d.where, cat), holdout: d.holdout, source: s.source });
    draw();
  }

  function definition() {
    const where = toWhere(b.root, cat);
    if (!where) return null;
    const def = { name: b.name || "unsaved", description: b.description || undefined, where };
    const pct = Number(b.holdout);
    if (pct > 0) def.holdout = pct;
    return def;
  }

  // ---- drawing the tree ----

  // draw redraws the builder and puts the focus back on the control that
  // had it (a keyboard user keeps their place).
  function draw() {
    const key = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : null;
    drawList();
    put(body, builderCard(), b.editing ? overlapCard() : h("div", { class: "card", id: "overlap-card" }, h("h2", {}, "Overlap with another segment"), overlapTool()),
      syncCard());
    if (key) { const el = body.querySelector('[data-key="' + key + '"]'); if (el) el.focus(); }
    refresh();
  }

  function builderCard() {
    const ro = b.readOnly;
    const nameInput = h("input", { id: "seg-name", value: b.name, placeholder: "e.g. summer_regulars", disabled: b.editing !== null, pattern: "[a-z][a-z0-9_]*",
      "aria-describedby": "seg-name-hint", oninput: (ev) => { b.name = ev.target.value; } });
    return h("div", { class: "card" },
      h("h1", {}, b.editing ? humanize(b.editing) : "New segment"),
      ro ? h("p", { class: "note" }, "This segment is defined in the project's files, so it is read-only here. Use “Save as new” to start a copy you can change.") : null,
      h("div", { class: "row" },
        h("div", { class: "field" }, h("label", { for: "seg-name" }, "Name"), nameInput,
          h("p", { class: "hint", id: "seg-name-hint" }, "lower-case letters, digits and _")),
        h("div", { class: "field grow" }, h("label", { for: "seg-desc" }, "Description"),
          h("input", { id: "seg-desc", value: b.description, disabled: ro, placeholder: "What these people have in common", oninput: (ev) => { b.description = ev.target.value; } }))),
      groupEditor(b.root, null, []),
      h("div", { class: "field holdout" },
        h("label", { for: "seg-holdout" }, "Hold out, to measure the campaign"),
        h("div", {}, h("input", { id: "seg-holdout", class: "short", type: "number", min: "0", max: "50", step: "1", inputmode: "numeric", value: b.holdout ? String(b.holdout) : "", placeholder: "0",
          disabled: ro, "aria-describedby": "seg-holdout-hint", oninput: (ev) => { b.holdout = ev.target.value; refresh(); } }), " % of the members"),
        h("p", { class: "hint", id: "seg-holdout-hint" }, "They are never sent; comparing them with the members who were shows what the campaign changed (Campaign results).")),
      h("div", { class: "actions" },
        writer && !ro ? h("button", { class: "primary", id: "save", onclick: (ev) => busy(ev.target, "Saving…", save) }, b.editing ? "Save changes" : "Save segment") : null,
        writer && ro ? h("button", { id: "save-copy", onclick: () => { b.editing = null; b.readOnly = false; b.name = b.name + "_copy"; draw(); } }, "Save as new") : null,
        writer && b.editing && !ro ? h("button", { class: "danger", id: "delete", onclick: remove }, "Delete") : null),
      h("details", { class: "asked" }, h("summary", {}, "Show the definition (for data people)"),
        h("pre", { class: "code", id: "definition", "aria-label": "definition" }),
        h("p", { class: "hint" }, "The SQL this count runs:"),
        h("pre", { class: "code", id: "sql", "aria-label": "SQL" })));
  }

  // groupEditor draws a group: its all/any choice, its members, and the
  // buttons to add a condition or a group inside it. The root group has no
  // "exclude" and no remove.
  function groupEditor(g, parent, path) {
    const ro = b.readOnly;
    const key = (f) => path.join(".") + "/" + f;
    const isRoot = parent === null;
    const combine = h("select", { class: "combine", id: isRoot ? "combine" : null, "data-key": key("combine"), "aria-label": "match all or any", disabled: ro,
      onchange: (ev) => { g.combine = ev.target.value; draw(); } },
    h("option", { value: "all", selected: g.combine === "all" }, "all"),
    h("option", { value: "any", selected: g.combine === "any" }, "any"));
    const head = isRoot ? h("p", { class: "group-head" }, "Include people who match ", combine, " of these conditions:")
      : h("div", { class: "group-head" },
        h("label", { class: "not", title: "Leave out the people who match this group" },
          h("input", { type: "checkbox", class: "negate", checked: g.negate, disabled: ro, "data-key": key("negate"), onchange: (ev) => { g.negate = ev.target.checked; draw(); } }), " exclude"),
        h("span", {}, "People who match "), combine, h("span", {}, " of:"),
        ro ? null : h("button", { class: "link remove", "aria-label": "Remove this group", title: "Remove this group", onclick: () => { parent.children.splice(path[path.length - 1], 1); ensureOne(parent); draw(); } }, "✕"));
    const word = g.combine === "all" ? "and" : "or";
    const kids = g.children.map((n, i) => [
      i ? h("div", { class: "joiner", "aria-hidden": "true" }, word) : null,
      n.type === "group" ? groupEditor(n, g, path.concat(i)) : n.type === "raw" ? rawEditor(n, g, path.concat(i)) : condEditor(n, g, path.concat(i)),
    ]);
    return h("div", { class: "group" + (isRoot ? " root" : "") + (g.negate ? " negated" : ""), id: isRoot ? "conditions" : null, "data-path": path.join("."), role: "group", "aria-label": isRoot ? "conditions" : "group of conditions" },
      head, kids,
      ro ? null : h("div", { class: "group-actions" },
        h("button", { class: "add-condition", id: isRoot ? "add-condition" : null, "data-key": key("add"), onclick: () => { g.children.push(newCond()); draw(); focusPath(path.concat(g.children.length - 1)); } }, "+ Condition"),
        h("button", { class: "add-group", id: isRoot ? "add-group" : null, "data-key": key("addgroup"), title: "A group of conditions combined with their own all / any",
          onclick: () => { g.children.push(newGroup(g.combine === "all" ? "any" : "all")); draw(); focusPath(path.concat(g.children.length - 1, 0)); } }, "+ Group")));
  }

  function focusPath(path) { const el = body.querySelector('[data-path="' + path.join(".") + '"] select'); if (el) el.focus(); }
  function ensureOne(g) { if (!g.children.length && g === b.root) g.children.push(newCond()); }

  function removeButton(parent, path) {
    return b.readOnly ? null : h("button", { class: "link remove", "aria-label": "Remove this condition", title: "Remove this condition",
      onclick: () => { parent.children.splice(path[path.length - 1], 1); ensureOne(parent); draw(); } }, "✕");
  }

  function negateBox(n, path, title) {
    return h("label", { class: "not", title },
      h("input", { type: "checkbox", class: "negate", checked: n.negate, disabled: b.readOnly, "data-key": path.join(".") + "/negate", onchange: (ev) => { n.negate = ev.target.checked; draw(); } }), " exclude");
  }

  function rawEditor(n, parent, path) {
    return h("div", { class: "cond raw" + (n.negate ? " negated" : ""), "data-path": path.join(".") },
      negateBox(n, path, "Leave out the people who match this condition"),
      h("div", { class: "parts" }, h("span", { class: "muted small" }, "A condition the builder cannot show as fields (kept as it is):"),
        h("code", {}, JSON.stringify(n.json))),
      removeButton(parent, path));
  }

  // condEditor draws one condition: what kind, then its fields.
  function condEditor(r, parent, path) {
    const ro = b.readOnly;
    const key = (f) => path.join(".") + "/" + f;
    const redraw = () => draw();
    const kindSel = h("select", { class: "kind", "aria-label": "kind of condition", disabled: ro, "data-key": key("kind"),
      onchange: (ev) => { const n = newCond(ev.target.value); n.negate = r.negate; parent.children[path[path.length - 1]] = n; draw(); } },
    h("option", { value: "trait", selected: r.kind === "trait" }, "Trait"),
    h("option", { value: "event", selected: r.kind === "event" }, "Did something"),
    h("option", { value: "segment", selected: r.kind === "segment" }, "In segment"));
    let parts;
    if (r.kind === "trait") parts = traitParts(r, key, redraw);
    else if (r.kind === "event") parts = eventParts(r, key, redraw);
    else parts = [select(key("segment"), "segment", "segment", r.segment, "choose a segment…",
      cat.segments.filter((s) => s !== b.editing).map((s) => [s, humanize(s)]), (v) => { r.segment = v; refresh(); })];
    return h("div", { class: "cond" + (r.negate ? " negated" : ""), "data-path": path.join(".") },
      negateBox(r, path, r.kind === "event" ? "Leave out the people who did this (did not do it)" : "Leave out the people who match this condition"),
      h("div", { class: "parts" }, kindSel, parts),
      removeButton(parent, path));
  }

  // select is a <select> with a first empty choice; choices are [value, words].
  function select(key, cls, label, value, empty, choices, onchange) {
    return h("select", { class: cls, "aria-label": label, disabled: b.readOnly, "data-key": key, onchange: (ev) => onchange(ev.target.value) },
      empty ? h("option", { value: "" }, empty) : null,
      choices.map(([v, words]) => h("option", { value: v, selected: v === value }, words)));
  }

  function traitParts(r, key, redraw) {
    const parts = [select(key("trait"), "trait", "trait", r.trait, "choose a trait…",
      cat.traits.map((t) => [t.name, humanize(t.name)]), (v) => { r.trait = v; r.op = ""; r.value = ""; r.value2 = ""; redraw(); })];
    if (r.trait) parts.push(opParts(r, traitKind(traitType(cat, r.trait)), key, redraw, "value"));
    return parts;
  }

  // opParts are the operator choice and the value boxes it needs.
  function opParts(r, kind, key, redraw, cls) {
    const ops = opsFor(kind);
    if (!ops.some((o) => o.op === r.op)) r.op = ops[0].op;
    const o = ops.find((x) => x.op === r.op);
    const out = [select(key("op"), "op", "operator", r.op, null, ops.map((x) => [x.op, x.label]), (v) => { r.op = v; r.value = ""; r.value2 = ""; redraw(); })];
    const box = (f, ph, type) => h("input", { class: f === "value" ? cls : cls + "2", type: type || "text", "aria-label": f === "value" ? "value" : "second value", disabled: b.readOnly,
      "data-key": key(f), value: r[f], placeholder: ph, inputmode: kind === "num" || o.needs === "days" ? "decimal" : null,
      oninput: (ev) => { r[f] = ev.target.value; refresh(); } });
    switch (o.needs) {
      case "one": out.push(box("value", kind === "num" ? "a number" : "a value")); break;
      case "two": out.push(box("value", "from"), " and ", box("value2", "to")); break;
      case "dates": out.push(box("value", "from", "date"), " and ", box("value2", "to", "date")); break;
      case "date": out.push(box("value", "", "date")); break;
      case "list": out.push(box("value", "values, separated by commas")); break;
      case "bool":
        if (r.value === "") r.value = "true";
        out.push(select(key("value"), cls, "value", r.value, null, [["true", "yes"], ["false", "no"]], (v) => { r.value = v; refresh(); }));
        break;
      case "days":
        out.push(h("input", { class: cls + " short", "aria-label": "how many", disabled: b.readOnly, "data-key": key("value"), value: r.value, placeholder: "30", inputmode: "numeric",
          oninput: (ev) => { r.value = ev.target.value; refresh(); } }),
        select(key("unit"), "unit", "unit", r.unit, null, UNITS.map((x) => [x.u, x.label]), (v) => { r.unit = v; refresh(); }),
        o.after ? " " + o.after : null);
        break;
    }
    return out;
  }

  function eventParts(r, key, redraw) {
    const sources = cat.sources.slice().sort((a, c) => (a.kind === "events" ? 0 : 1) - (c.kind === "events" ? 0 : 1));
    const out = [select(key("source"), "source", "where it happened", r.source, "choose where…",
      sources.map((s) => [s.name, humanize(s.name)]), (v) => { r.source = v; r.event = ""; r.where = []; redraw(); })];
    if (!r.source) return out;
    const names = sourceEvents(cat, r.source);
    const src = cat.sources.find((x) => x.name === r.source) || {};
    const named = names.length || src.event || src.kind === "events" || r.event; // rows of other sources have no event name
    const listID = "events-" + r.source;
    out.push(named ? h("input", { class: "event-name", "aria-label": "which event", list: names.length ? listID : null, disabled: b.readOnly, "data-key": key("event"), value: r.event,
      placeholder: names.length ? "any event, or pick one" : "any event, or its name", oninput: (ev) => { r.event = ev.target.value; refresh(); } }) : null,
    named && names.length ? h("datalist", { id: listID }, names.map((n) => h("option", { value: n }, humanize(n)))) : null,
    select(key("countop"), "count-op", "how often", r.countOp, null, [["gte", "at least"], ["lte", "at most"], ["eq", "exactly"]], (v) => { r.countOp = v; refresh(); }),
    h("input", { class: "count short", "aria-label": "times", disabled: b.readOnly, "data-key": key("count"), value: r.count, placeholder: "1", inputmode: "numeric", oninput: (ev) => { r.count = ev.target.value; refresh(); } }),
    " times in the last ",
    h("input", { class: "days short", "aria-label": "how long ago", disabled: b.readOnly, "data-key": key("days"), value: r.days, placeholder: "ever", inputmode: "numeric", oninput: (ev) => { r.days = ev.target.value; refresh(); } }),
    select(key("dunit"), "unit", "unit of time", r.dunit, null, UNITS.map((x) => [x.u, x.label]), (v) => { r.dunit = v; refresh(); }));
    const cols = sourceColumns(cat, r.source);
    const kinds = columnKinds(cat, r.source);
    const rows = r.where.map((w, i) => {
      const k = (f) => key("w" + i + "-" + f);
      return h("div", { class: "where-row", "data-where": i }, "with ",
        select(k("column"), "column", "detail of the event", w.column, "choose a detail…", cols.map((c) => [c, humanize(c)]), (v) => { w.column = v; w.op = ""; w.value = ""; redraw(); }),
        w.column ? opParts(w, kinds[w.column] || "any", k, redraw, "wvalue") : null,
        b.readOnly ? null : h("button", { class: "link remove", "aria-label": "Remove this detail", onclick: () => { r.where.splice(i, 1); redraw(); } }, "✕"));
    });
    out.push(h("div", { class: "where" }, rows,
      b.readOnly || !cols.length ? null : h("button", { class: "link add-where", "data-key": key("addwhere"), onclick: () => { r.where.push(newWhere()); redraw(); } }, "+ with a detail (e.g. value at least 50)")));
    return out;
  }

  // ---- the live preview ----

  let previewSeq = 0, inFlight = null;
  const runPreview = debounce(async (def, seq) => {
    if (inFlight) inFlight.abort(); // an answer for an older definition is not needed
    inFlight = new AbortController();
    try {
      const r = await api("POST", "/segments/preview?sample=10", def, inFlight.signal);
      if (seq !== previewSeq) return;
      preview.dataset.shown = def.name;
      showPreview(r, def);
    } catch (e) {
      if (seq !== previewSeq || e.name === "AbortError") return;
      preview.classList.remove("busy");
      preview.removeAttribute("aria-busy");
      put(preview, h("h2", {}, "Who is in it"), errorBox(e));
    }
  }, 350);

  // refresh shows the definition and asks for a new count a third of a
  // second after the last change.
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
    preview.setAttribute("aria-busy", "true");
    if (!preview.querySelector("#count")) put(preview, h("h2", {}, "Who is in it"), loading("Counting…"));
    runPreview(def, previewSeq);
  }

  function showPreview(r, def) {
    preview.classList.remove("busy");
    preview.removeAttribute("aria-busy");
    const sql = document.getElementById("sql");
    if (sql) sql.textContent = r.sql || "(the server did not say)";
    const traits = (r.traits && r.traits.length ? r.traits : Object.keys((r.sample[0] || {}).traits || {})).slice(0, 3);
    const change = r.change_since_last_run;
    const anyMasked = (r.sample || []).some((p) => Object.values(p.traits || {}).some(masked));
    put(preview,
      h("h2", {}, "Who is in it"),
      h("div", { class: "big", id: "count" }, fmtNum(r.count)),
      h("p", { class: "muted" }, r.count === 1 ? "person matches" : "people match"),
      change !== null && change !== undefined ? h("p", { class: "muted", id: "change" }, (change >= 0 ? "+" : "") + fmtNum(change) + " since the last run") : null,
      r.holdout || def.holdout ? h("p", { class: "muted", id: "held-out" }, fmtNum(r.holdout) + " of them " + (r.holdout === 1 ? "is" : "are") + " held out" +
        (def.holdout ? " (" + def.holdout + "%)" : "") + ": never sent, to measure the campaign") : null,
      r.sample && r.sample.length ? h("div", {},
        h("h3", {}, "A few of them"),
        anyMasked || can("marketer") ? h("p", { class: "hint", id: "masked-note" }, "Personal data is hidden for your role: it shows as j***@g***.com.") : null,
        h("table", { class: "sample" },
          h("thead", {}, h("tr", {}, h("th", {}, "Person"), traits.map((t) => h("th", {}, humanize(t))))),
          h("tbody", {}, r.sample.map((p) => h("tr", {},
            h("td", {}, personLink(p)),
            traits.map((t) => h("td", {}, show((p.traits || {})[t])))))))) : null);
  }

  // ---- save and delete ----

  async function save() {
    const def = definition();
    if (!b.name || !/^[a-z][a-z0-9_]*$/.test(b.name)) { toast("Give the segment a name: lower-case letters, digits and _ (e.g. summer_regulars).", true); document.getElementById("seg-name").focus(); return; }
    if (!def) { toast("Add at least one condition first.", true); return; }
    def.name = b.name;
    try {
      if (b.editing) await api("PUT", "/segments/" + encodeURIComponent(b.editing), def);
      else await api("POST", "/segments", def);
    } catch (e) { toast(problem(e), true); return; }
    toast("Saved “" + humanize(b.name) + "”.");
    await reloadLists();
    b.editing = b.name;
    draw();
  }

  async function reloadLists() {
    state.catalog = null;
    Object.assign(cat, await catalog());
    list.splice(0, list.length, ...(await api("GET", "/segments")));
  }

  async function remove() {
    const ok = await confirmDialog("Delete “" + humanize(b.editing) + "”?",
      h("p", {}, "The segment is removed for everyone. Syncs that send it stop working until they are changed."), "Delete", true);
    if (!ok) return;
    try { await api("DELETE", "/segments/" + encodeURIComponent(b.editing)); } catch (e) { toast(e.message, true); return; }
    toast("Deleted “" + humanize(b.editing) + "”.");
    await reloadLists();
    fresh();
    draw();
  }

  // ---- overlap ----

  function overlapCard() {
    return h("div", { class: "card", id: "overlap-card" }, h("h2", {}, "Overlap with another segment"), overlapTool());
  }

  // overlapTool compares this segment with another: a saved one through the
  // overlap API, an unsaved one by counting "this and in the other".
  function overlapTool() {
    const out = h("div", { id: "overlap-result", "aria-live": "polite" });
    const sel = h("select", { id: "overlap-with" }, h("option", { value: "" }, "choose a segment…"),
      cat.segments.filter((s) => s !== b.editing).map((s) => h("option", { value: s }, humanize(s))));
    sel.addEventListener("change", async () => {
      if (!sel.value) { put(out); return; }
      put(out, loading("Comparing…"));
      try {
        const [a, c, both] = b.editing ? await overlapSaved(sel.value) : await overlapUnsaved(sel.value);
        put(out, vennBar(b.editing ? humanize(b.editing) : "this segment", a, humanize(sel.value), c, both));
      } catch (e) { put(out, errorBox(e)); }
    });
    return h("div", {}, labelled("Compare with", sel), out);
  }

  async function overlapSaved(other) {
    const r = await api("POST", "/segments/overlap", { segments: [b.editing, other] });
    const size = (names) => (r.sizes.find((s) => s.segments.length === names.length && names.every((n) => s.segments.includes(n))) || { count: 0 }).count;
    return [size([b.editing]), size([other]), size([b.editing, other])];
  }

  async function overlapUnsaved(other) {
    const def = definition();
    if (!def) throw new Error("Add a condition first.");
    const count = async (where) => (await api("POST", "/segments/preview?sample=0", { name: "overlap", where })).count;
    return Promise.all([count(def.where), count({ segment: other }), count({ all: [def.where, { segment: other }] })]);
  }

  // ---- syncs of this segment ----

  function syncCard() {
    const box = h("div", { class: "card", id: "segment-syncs" }, h("h2", {}, "Send to a destination"));
    if (!b.editing) {
      box.append(h("p", { class: "muted" }, "Save the segment first; then you can send it to a marketing tool from here."));
      return box;
    }
    const listBox = h("div", {}, loading());
    box.append(listBox);
    const drawSyncs = async () => {
      let all, hist;
      try {
        [all, hist] = await Promise.all([api("GET", "/syncs"), api("GET", "/segments/" + encodeURIComponent(b.editing) + "/history").catch(() => null)]);
      } catch (e) { put(listBox, errorBox(e)); return; }
      const mine = all.filter((s) => s.segment === b.editing);
      put(listBox,
        hist && !hist.length ? notBuiltYet(drawSyncs) : null,
        mine.length ? h("ul", { class: "plain", id: "segment-sync-list" }, mine.map((s) => h("li", { "data-sync": s.name }, h("strong", {}, humanize(s.name)), " → ", humanize(s.destination), " ",
          writer ? h("button", { class: "dry-run", onclick: (ev) => runSync(s.name, true, ev.target) }, "Dry run") : null, " ",
          writer ? h("button", { class: "run-now", onclick: (ev) => runSync(s.name, false, ev.target) }, "Run now") : null,
          h("div", { class: "sync-result", id: "sync-result-" + s.name })))) :
          h("p", { class: "muted" }, "No sync sends this segment yet."),
        syncForm(b.editing, cat, drawSyncs, all));
    };
    drawSyncs();
    return box;
  }

  // notBuiltYet says a segment saved here has no members until the next
  // warehouse run, and lets editors and admins start one.
  function notBuiltYet(done) {
    const out = h("div", { class: "note card", id: "not-built" },
      h("p", {}, "This segment gets its members at the next warehouse run: until then its syncs have nobody to send."));
    if (can("admin", "editor")) {
      const progress = h("p", { class: "hint", id: "run-progress", "aria-live": "polite" });
      out.append(h("button", { id: "run-warehouse", onclick: async (ev) => {
        try {
          const r = await busy(ev.target, "Updating every segment…", () => runWarehouse(progress));
          toast(r.status === "succeeded" ? "Every segment is up to date." : "The run ended: " + humanize(r.status || "") + (r.error ? " — " + r.error : ""), r.status !== "succeeded");
          done();
        } catch (e) { put(progress, errorBox(e)); }
      } }, "Update every segment now"), progress);
    }
    return out;
  }

  draw();
}

// runWarehouse starts a warehouse run and says which step it is at until it
// ends (a run over millions of people takes minutes); it gives the run's record.
async function runWarehouse(progress) {
  let r = await api("POST", "/runs?wait=false");
  while (r.status === "running") {
    const steps = r.steps || [];
    const now = steps.find((x) => x.running) || steps[steps.length - 1];
    put(progress, loading(now ? "Step " + steps.length + ": " + humanize(now.name) + "…" : "Starting…"));
    await new Promise((ok) => setTimeout(ok, 1000));
    r = await api("GET", "/runs/" + encodeURIComponent(r.id));
  }
  put(progress, r.status === "succeeded" ? h("span", {}, "Done in " + plural(Math.round((new Date(r.finished_at) - new Date(r.started_at)) / 1000), "second") + ".") : errorBox(new Error(r.error || "the run " + r.status)));
  return r;
}

// personLink links a sample member to the customer page (for the roles that
// may look people up), by an identifier the sample shows in clear.
function personLink(p) {
  const t = p.traits || {};
  const by = ["email", "phone", "customer_id"].find((k) => typeof t[k] === "string" && t[k] && !masked(t[k]));
  if (!can("admin", "support") || !by) return short(p.profile_id);
  return h("a", { href: "#/profiles/" + encodeURIComponent(by + ":" + t[by]), title: "Open this customer" }, short(p.profile_id));
}

// widthed sets an element's width through the style object (the page's
// Content-Security-Policy refuses style attributes).
function widthed(el, w) { el.style.width = w; return el; }

// vennBar draws two overlapping segments as one bar: only A, both, only B.
function vennBar(a, na, b, nb, both) {
  const total = Math.max(na + nb - both, 1);
  const w = (n) => Math.max(0, (n / total) * 100) + "%";
  return h("div", { class: "venn" },
    h("div", { class: "bar", role: "img", "aria-label": fmtNum(both) + " in both" },
      widthed(h("span", { class: "a" }), w(na - both)), widthed(h("span", { class: "both" }), w(both)), widthed(h("span", { class: "b" }), w(nb - both))),
    h("p", { id: "overlap-words" }, fmtNum(both) + " people are in both. ", fmtNum(na - both) + " only in " + a + ", " + fmtNum(nb - both) + " only in " + b + "."));
}
