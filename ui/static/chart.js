// Charts drawn by hand as inline SVG: lines, bars and a shaded band (a
// confidence interval). No library, nothing from the network.
"use strict";

// niceTicks gives about n round values from lo to hi (1, 2 or 5 times a power of ten).
function niceTicks(lo, hi, n) {
  if (lo === hi) { lo -= 1; hi += 1; }
  const raw = (hi - lo) / n;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [Math.floor(lo / step) * step];
  while (ticks[ticks.length - 1] < hi) ticks.push(Number((ticks[ticks.length - 1] + step).toPrecision(12)));
  return ticks;
}

// scale maps [d0, d1] onto [r0, r1].
function scale(d0, d1, r0, r1) {
  return (v) => r0 + ((+v - d0) / (d1 - d0 || 1)) * (r1 - r0);
}

// lineChart draws series [{name, cls, points: [{x: Date, y, lo?, hi?}],
// bars?, right?}]: a series with lo/hi gets a shaded band, a series with
// right: true is read on its own axis on the right. opts: label (what the
// chart shows, for screen readers), empty (the words when nothing is to
// draw), fmt (a y value as text), fmtRight, zero (draw the zero line).
function lineChart(series, opts) {
  opts = opts || {};
  const W = 680, H = 230, L = 56, T = 14, B = 30;
  const hasRight = series.some((s) => s.right && s.points.length);
  const R = hasRight ? 56 : 14;
  const pts = series.flatMap((s) => s.points);
  if (!pts.length) return h("p", { class: "muted chart-empty" }, opts.empty || "Nothing to chart yet.");
  const fmt = opts.fmt || ((v) => fmtNum(v));

  let x0 = Math.min(...pts.map((p) => +p.x)), x1 = Math.max(...pts.map((p) => +p.x));
  if (x0 === x1) { x0 -= 12 * 3600e3; x1 += 12 * 3600e3; }
  const pad = (x1 - x0) * 0.05; // room for the first and last bar
  const X = scale(x0 - pad, x1 + pad, L, W - R);

  const axis = (list) => {
    const ys = list.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo, p.hi])).filter((v) => v !== undefined && v !== null && !isNaN(v));
    const ticks = niceTicks(Math.min(0, ...ys), Math.max(...ys, opts.minTop || 0), 4);
    return { ticks, Y: scale(ticks[0], ticks[ticks.length - 1], H - B, T) };
  };
  const left = axis(series.filter((s) => !s.right));
  const right = hasRight ? axis(series.filter((s) => s.right)) : null;

  const svg = h("svg:svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img", "aria-label": opts.label || "chart" },
    h("svg:title", {}, opts.label || "chart"));
  for (const v of left.ticks) {
    svg.append(h("svg:line", { x1: L, x2: W - R, y1: left.Y(v), y2: left.Y(v), class: v === 0 && opts.zero ? "zero" : "grid" }),
      h("svg:text", { x: L - 6, y: left.Y(v) + 4, class: "axis", "text-anchor": "end" }, fmt(v)));
  }
  if (right) for (const v of right.ticks) {
    svg.append(h("svg:text", { x: W - R + 6, y: right.Y(v) + 4, class: "axis right" }, (opts.fmtRight || fmtNum)(v)));
  }
  const ticks = timeTicks(x0, x1, 5);
  ticks.forEach((t, i) => {
    // the first and last labels stay inside the chart
    const anchor = ticks.length === 1 ? "middle" : i === 0 ? "start" : i === ticks.length - 1 ? "end" : "middle";
    svg.append(h("svg:text", { x: X(t), y: H - 9, class: "axis", "text-anchor": anchor }, tickLabel(new Date(t), x1 - x0)));
  });
  for (const s of series) {
    if (!s.points.length) continue;
    drawSeries(svg, s, X, s.right ? right.Y : left.Y, s.right ? (opts.fmtRight || fmtNum) : fmt, W - L - R);
  }
  return h("figure", { class: "chartbox" }, svg,
    h("figcaption", {}, series.filter((s) => s.points.length).map((s) => h("span", { class: "key " + s.cls + (s.band ? " band" : "") }, s.name))),
    figures(series, fmt, opts));
}

// tickLabel is a date on the time axis: with the hour when the chart spans
// less than two days, without the year (short enough not to overlap).
function tickLabel(d, span) {
  const o = span < 2 * 864e5 ? { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short", year: span > 300 * 864e5 ? "numeric" : undefined };
  return d.toLocaleString("en-GB", o);
}

// timeTicks are up to n instants spread over [x0, x1] (the first and last included).
function timeTicks(x0, x1, n) {
  if (x1 - x0 < 36e5) return [x0];
  const out = [];
  for (let i = 0; i < n; i++) out.push(x0 + ((x1 - x0) * i) / (n - 1));
  return out;
}

function drawSeries(svg, s, X, Y, fmt, width) {
  const band = s.points.filter((p) => p.lo !== undefined && p.lo !== null && p.hi !== undefined && p.hi !== null);
  if (band.length) {
    const d = band.map((p, i) => (i ? "L" : "M") + X(p.x) + "," + Y(p.hi)).join("") +
      band.slice().reverse().map((p) => "L" + X(p.x) + "," + Y(p.lo)).join("") + "Z";
    svg.append(h("svg:path", { d, class: "band " + s.cls }));
  }
  const tip = (p) => s.name + " on " + fmtTime(p.x) + ": " + fmt(p.y) + (band.length && p.lo !== undefined ? " (95% between " + fmt(p.lo) + " and " + fmt(p.hi) + ")" : "");
  if (s.bars) {
    const bw = Math.max(3, Math.min(18, width / (s.points.length * 2)));
    for (const p of s.points) {
      svg.append(h("svg:rect", { x: X(p.x) - bw / 2, y: Y(Math.max(p.y, 0)), width: bw, height: Math.abs(Y(0) - Y(p.y)), class: "bar " + s.cls }, h("svg:title", {}, tip(p))));
    }
    return;
  }
  svg.append(h("svg:path", { d: s.points.map((p, i) => (i ? "L" : "M") + X(p.x) + "," + Y(p.y)).join(""), class: "line " + s.cls }));
  for (const p of s.points) svg.append(h("svg:circle", { cx: X(p.x), cy: Y(p.y), r: 3.5, class: "dot " + s.cls }, h("svg:title", {}, tip(p))));
}

// figures is the chart's data as a table, folded away: for people who do
// not see the chart, and for anyone who wants the exact numbers.
function figures(series, fmt, opts) {
  const rows = series.flatMap((s) => s.points.map((p) => ({ s, p }))).sort((a, b) => a.p.x - b.p.x);
  return h("details", { class: "asked figures" }, h("summary", {}, "Show the figures"),
    h("table", { class: "sample" },
      h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "What"), h("th", {}, "Value"), rows.some((r) => r.p.lo !== undefined) ? h("th", {}, "95% interval") : null)),
      h("tbody", {}, rows.map(({ s, p }) => h("tr", {}, h("td", {}, fmtTime(p.x)), h("td", {}, s.name),
        h("td", {}, (s.right ? (opts.fmtRight || fmtNum) : fmt)(p.y)),
        p.lo !== undefined ? h("td", {}, fmt(p.lo) + " to " + fmt(p.hi)) : null)))));
}
