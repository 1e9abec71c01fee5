// Campaign results: for a segment with a holdout, how much better the
// members who were sent did than the members held back, on a chosen
// metric, over time, with the 95% confidence interval.
"use strict";

async function resultsPage(main) {
  const cat = await catalog();
  const infos = await Promise.all(cat.segments.map((n) => api("GET", "/segments/" + encodeURIComponent(n)).catch(() => null)));
  const held = infos.filter((s) => s && s.definition && s.definition.holdout > 0);
  const intro = h("p", { class: "muted" }, "A segment with a holdout keeps some of its members apart: they are never sent. Comparing the members who were sent with them shows what the campaign changed.");
  if (!held.length) {
    put(main, h("h1", {}, "Campaign results"), intro,
      h("div", { class: "card note", id: "no-holdout" }, h("p", {}, "No segment has a holdout yet. Ask a data person to add “holdout: 10%” to a segment in the project's files; after the next run and sync, its results show here.")));
    return;
  }
  const f = { segment: held[0].name, metric: "", since: daysAgo(30) };
  const metrics = metricChoices(cat);
  // a purchase is what most campaigns aim at; else the first rate
  f.metric = (metrics.find((m) => /order|purchase|checkout|conversion/.test(m.value) && m.kind === "rate") ||
    metrics.find((m) => m.kind === "rate") || metrics[0] || {}).value || "";
  const out = h("div", { id: "results", "aria-live": "polite" });
  const remeasure = debounce(() => loadLift(f, out), 150);
  const segSel = h("select", { id: "lift-segment", onchange: (ev) => { f.segment = ev.target.value; remeasure(); } },
    held.map((s) => h("option", { value: s.name }, humanize(s.name) + " (" + s.definition.holdout + "% held out)")));
  const metSel = h("select", { id: "lift-metric", onchange: (ev) => { f.metric = ev.target.value; remeasure(); } },
    groupOptions(metrics, f.metric));
  const since = h("input", { id: "lift-since", type: "date", value: f.since, onchange: (ev) => { f.since = ev.target.value; remeasure(); } });
  put(main, h("h1", {}, "Campaign results"), intro,
    h("form", { class: "card lift-form", onsubmit: (ev) => { ev.preventDefault(); loadLift(f, out); } },
      h("div", { class: "row" },
        labelled("Campaign (segment)", segSel),
        labelled("Measured by", metSel, "A yes/no detail or an event gives a rate; a number gives an average."),
        labelled("Counting from", since))),
    out);
  loadLift(f, out);
}

function daysAgo(n) {
  const d = new Date(Date.now() - n * 864e5);
  return d.toISOString().slice(0, 10);
}

// metricChoices are the traits lift can measure (yes/no ones as a rate,
// numbers as a mean) and the events (the rate of people who did it).
function metricChoices(cat) {
  const out = [];
  for (const t of cat.traits) {
    const k = traitKind(t.type);
    if (k === "bool") out.push({ value: t.name, label: humanize(t.name) + " (share of people)", group: "Details", kind: "rate" });
    if (k === "num") out.push({ value: t.name, label: humanize(t.name) + " (average)", group: "Details", kind: "mean" });
  }
  for (const s of cat.sources.filter((x) => x.kind === "events" || (x.events && x.events.length))) {
    out.push({ value: s.name, label: "Any event in " + humanize(s.name), group: "Did something", kind: "rate" });
    for (const e of sourceEvents(cat, s.name)) out.push({ value: s.name + "." + e, label: humanize(e) + " (" + humanize(s.name) + ")", group: "Did something", kind: "rate" });
  }
  for (const s of cat.sources.filter((x) => x.kind !== "events" && !(x.events && x.events.length))) {
    out.push({ value: s.name, label: "A new row in " + humanize(s.name), group: "Did something", kind: "rate" });
  }
  return out;
}

function groupOptions(list, selected) {
  const groups = [...new Set(list.map((m) => m.group))];
  return groups.map((g) => h("optgroup", { label: g }, list.filter((m) => m.group === g).map((m) => h("option", { value: m.value, selected: m.value === selected }, m.label))));
}

async function loadLift(f, out) {
  if (!f.segment || !f.metric) { put(out, h("p", { class: "muted" }, "Choose a campaign and what to measure.")); return; }
  put(out, loading("Measuring…"));
  const q = "?metric=" + encodeURIComponent(f.metric) + (f.since ? "&since=" + encodeURIComponent(f.since) : "") + "&points=12";
  let r;
  try {
    r = await api("GET", "/segments/" + encodeURIComponent(f.segment) + "/lift" + q);
  } catch (e) {
    // 400: the campaign cannot be measured yet (never sent, no holdout): the
    // server's words say why and what to do
    put(out, e.status === 400 ? h("div", { class: "card note", id: "not-measurable" }, h("h2", {}, "Nothing to measure yet"), h("p", {}, e.message)) : errorBox(e));
    return;
  }
  put(out, liftView(r));
}

// liftFmt writes a figure of the metric: a rate as a percentage, a mean as
// a number; a difference of rates is in percentage points.
function liftFmt(kind, diff) {
  if (kind === "rate") return (v) => (v === null || v === undefined ? "–" : (v * 100).toFixed(1) + (diff ? " pt" : "%"));
  return (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString("en-US", { maximumFractionDigits: 2 }));
}

function verdict(r) {
  if (r.ci95_low === null || r.ci95_low === undefined) return ["idle", "Not enough data yet to say."];
  if (r.ci95_low > 0) return ["good", "The campaign made a difference: the people who were sent did better than the people held back."];
  if (r.ci95_high < 0) return ["bad", "The people who were sent did worse than the people held back."];
  return ["idle", "No clear difference yet: the margin of error still includes zero. Wait for more data, or measure something else."];
}

function liftView(r) {
  const fmt = liftFmt(r.kind), dfmt = liftFmt(r.kind, true);
  const [cls, words] = verdict(r);
  const series = (r.series || r.points || []).map((p) => ({
    x: new Date(p.date || p.at),
    sent: pick(p, ["sent", "sent_value", "sent_rate", "sent_mean", "sent_rate_or_mean"]),
    holdout: pick(p, ["holdout", "holdout_value", "holdout_rate", "holdout_mean", "holdout_rate_or_mean"]),
    lift: p.lift, lo: pick(p, ["ci_low", "ci95_low", "low"]), hi: pick(p, ["ci_high", "ci95_high", "high"]),
  }));
  const what = r.kind === "rate" ? "did it" : "on average";
  return h("div", {},
    h("div", { class: "card lift-head" },
      h("h2", {}, humanize(r.segment) + " — " + metricWords(r.metric)),
      h("div", { class: "lift-figures" },
        figure("Sent", fmt(r.sent.value), fmtNum(r.sent.members) + " people " + (r.kind === "rate" ? "" : "(" + fmtNum(r.sent.measured) + " with a value)"), "sent"),
        figure("Held back", fmt(r.holdout.value), fmtNum(r.holdout.members) + " people " + (r.kind === "rate" ? "" : "(" + fmtNum(r.holdout.measured) + " with a value)"), "holdout"),
        figure("Lift", (r.lift > 0 ? "+" : "") + dfmt(r.lift), "95% between " + dfmt(r.ci95_low) + " and " + dfmt(r.ci95_high) +
          (r.relative_lift !== null && r.relative_lift !== undefined ? " · " + (r.relative_lift > 0 ? "+" : "") + fmtPct(r.relative_lift) + " relative" : ""), "lift")),
      h("p", { class: "verdict " + cls, id: "verdict" }, words),
      h("p", { class: "hint" }, (r.kind === "rate" ? "Share of people who " + what : "Average " + metricWords(r.metric).toLowerCase()) +
        (r.since ? ", counted from " + fmtDate(r.since) : "") + (r.syncs && r.syncs.length ? ". Sent by " + r.syncs.map(humanize).join(", ") + "." : "."))),
    h("div", { class: "card" }, h("h3", {}, "Lift over time, with its margin of error"),
      h("div", { id: "lift-chart" }, lineChart([{ name: "Lift (sent − held back)", cls: "s1", band: true, points: series.filter((p) => p.lift !== null && p.lift !== undefined).map((p) => ({ x: p.x, y: p.lift, lo: p.lo, hi: p.hi })) }],
        { label: "Lift of " + metricWords(r.metric) + " over time with its 95% confidence interval", fmt: dfmt, zero: true, empty: "Not enough days yet to draw the lift over time." })),
      h("p", { class: "hint" }, "The shaded band is the 95% confidence interval: while it crosses the zero line, the difference may be chance."),
      series.some((p) => p.sent !== undefined) ? [h("h3", {}, "Sent and held back"),
        lineChart([
          { name: "Sent", cls: "s1", points: series.filter((p) => p.sent !== undefined && p.sent !== null).map((p) => ({ x: p.x, y: p.sent })) },
          { name: "Held back", cls: "s2", points: series.filter((p) => p.holdout !== undefined && p.holdout !== null).map((p) => ({ x: p.x, y: p.holdout })) },
        ], { label: metricWords(r.metric) + " of sent and held-back members over time", fmt })] : null));
}

// metricWords names a metric: a trait, a source, or SOURCE.EVENT.
function metricWords(m) {
  const [source, event] = String(m).split(".");
  return event ? humanize(event) + " (" + humanize(source) + ")" : humanize(source);
}

function pick(o, keys) { for (const k of keys) if (o[k] !== undefined) return o[k]; return undefined; }

function figure(label, value, sub, cls) {
  return h("div", { class: "figure " + cls }, h("div", { class: "muted small" }, label), h("div", { class: "fig" }, value), h("div", { class: "muted small" }, sub));
}
