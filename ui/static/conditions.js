// The segment builder's model: a tree of groups (all / any, optionally
// excluded) and conditions (a trait, an event, another segment), and its
// translation to and from a segment definition's "where" JSON.
"use strict";

// traitKind reads the type the catalog gives (string, number, boolean,
// timestamp, date — or a warehouse's own type name) as one of the kinds
// the builder has operators for.
function traitKind(type) {
  const t = String(type || "").toUpperCase();
  if (/BOOL/.test(t)) return "bool";
  if (/INT|DEC|NUM|DOUBLE|FLOAT|REAL/.test(t)) return "num";
  if (/DATE|TIME/.test(t)) return "time";
  if (t === "") return "any"; // the server did not say: offer what works for any value
  return "text";
}

// Operators in plain words, per kind. needs says what value they take:
// one, two (from … to), list, none, bool (yes/no), days (a number and a
// unit), date (a calendar date), dates (two).
const OPS = {
  text: [
    { op: "eq", label: "is", needs: "one" },
    { op: "neq", label: "is not", needs: "one" },
    { op: "in", label: "is one of", needs: "list" },
    { op: "not_in", label: "is none of", needs: "list" },
    { op: "contains", label: "contains", needs: "one" },
    { op: "starts_with", label: "starts with", needs: "one" },
    { op: "is_null", label: "is empty", needs: "none" },
    { op: "not_null", label: "is not empty", needs: "none" },
  ],
  num: [
    { op: "gte", label: "is at least", needs: "one" },
    { op: "gt", label: "is more than", needs: "one" },
    { op: "lte", label: "is at most", needs: "one" },
    { op: "lt", label: "is less than", needs: "one" },
    { op: "eq", label: "is exactly", needs: "one" },
    { op: "neq", label: "is not", needs: "one" },
    { op: "between", label: "is between", needs: "two" },
    { op: "in", label: "is one of", needs: "list" },
    { op: "is_null", label: "is empty", needs: "none" },
    { op: "not_null", label: "is not empty", needs: "none" },
  ],
  bool: [
    { op: "eq", label: "is", needs: "bool" },
    { op: "is_null", label: "is unknown", needs: "none" },
    { op: "not_null", label: "is known", needs: "none" },
  ],
  time: [
    { op: "within", label: "is in the last", needs: "days" },
    { op: "before", label: "is more than", needs: "days", after: "ago" },
    { op: "after", label: "is less than", needs: "days", after: "ago" },
    { op: "gte", label: "is on or after", needs: "date" },
    { op: "lt", label: "is before", needs: "date" },
    { op: "between", label: "is between", needs: "dates" },
    { op: "is_null", label: "is empty", needs: "none" },
    { op: "not_null", label: "is not empty", needs: "none" },
  ],
};
OPS.any = [
  ...OPS.text.filter((o) => ["eq", "neq"].includes(o.op)),
  ...OPS.num.filter((o) => ["gte", "gt", "lte", "lt", "between"].includes(o.op)),
  ...OPS.text.filter((o) => ["in", "not_in", "contains", "starts_with"].includes(o.op)),
  ...OPS.time.filter((o) => o.needs === "days"),
  ...OPS.text.filter((o) => o.needs === "none"),
];
function opsFor(kind) { return OPS[kind] || OPS.any; }

const UNITS = [{ u: "d", label: "days" }, { u: "w", label: "weeks" }, { u: "h", label: "hours" }];

// typed is a value typed in a box, as the trait's kind wants it.
function typed(v, kind) {
  v = String(v).trim();
  const num = v !== "" && !isNaN(Number(v));
  if (kind === "num" && num) return Number(v);
  if (kind === "bool") return v !== "false";
  if (kind === "any") {
    if (v === "true" || v === "false") return v === "true";
    if (num) return Number(v);
  }
  return v;
}

// ---- the tree ------------------------------------------------------------

function newCond(kind) {
  return { type: "cond", kind: kind || "trait", negate: false, trait: "", op: "", value: "", value2: "", unit: "d",
    source: "", event: "", days: "", dunit: "d", countOp: "gte", count: "", segment: "", where: [] };
}
function newWhere() { return { column: "", op: "", value: "", value2: "", unit: "d" }; }
function newGroup(combine, children) {
  return { type: "group", combine: combine || "all", negate: false, children: children || [newCond()] };
}

// ---- tree → definition ------------------------------------------------------

// toWhere is the tree's definition, or null while no condition is filled in
// enough to count. Conditions still being filled in are left out.
function toWhere(node, cat) {
  let c = null;
  if (node.type === "group") {
    const kids = node.children.map((n) => toWhere(n, cat)).filter(Boolean);
    if (kids.length) c = { [node.combine]: kids };
  } else if (node.type === "raw") {
    c = node.json;
  } else {
    c = condJSON(node, cat);
  }
  return c && node.negate ? { not: c } : c;
}

function condJSON(r, cat) {
  if (r.kind === "trait") {
    if (!r.trait) return null;
    return opJSON({ trait: r.trait }, r, traitKind(traitType(cat, r.trait)));
  }
  if (r.kind === "segment") return r.segment ? { segment: r.segment } : null;
  if (!r.source) return null;
  const e = { source: r.source };
  if (r.event.trim()) e.name = r.event.trim();
  if (/^\d+$/.test(String(r.days).trim())) e.within = String(r.days).trim() + r.dunit;
  const n = String(r.count).trim();
  if (/^\d+$/.test(n) && !(r.countOp === "gte" && n === "1")) e.count = { [r.countOp]: Number(n) };
  const kinds = columnKinds(cat, r.source);
  const where = r.where.map((w) => (w.column ? opJSON({ column: w.column }, w, kinds[w.column] || "any") : null)).filter(Boolean);
  if (where.length) e.where = where;
  return { event: e };
}

// opJSON adds the operator and its value to base ({trait} or {column});
// null while the value is missing.
function opJSON(base, r, kind) {
  const o = opsFor(kind).find((x) => x.op === r.op);
  if (!o) return null;
  const c = Object.assign({}, base);
  const v = String(r.value).trim(), v2 = String(r.value2).trim();
  switch (o.needs) {
    case "none": c.is_null = r.op === "is_null"; break;
    case "bool": c.eq = r.value !== "false"; break;
    case "days": if (!/^\d+$/.test(v)) return null; c[r.op] = v + (r.unit || "d"); break;
    case "date": if (!v) return null; c[r.op] = v; break;
    case "two": case "dates": if (!v || !v2) return null; c.between = [typed(v, kind), typed(v2, kind)]; break;
    case "list": {
      const vs = v.split(",").map((s) => s.trim()).filter(Boolean);
      if (!vs.length) return null;
      c[r.op] = vs.map((x) => typed(x, kind));
      break;
    }
    default: if (v === "") return null; c[r.op] = typed(v, kind);
  }
  return c;
}

function traitType(cat, name) { const t = cat.traits.find((x) => x.name === name); return t && t.type; }

// sourceColumns are the columns of a source an event's detail can test:
// the catalog's fields ({name, type}), else its column names.
function sourceColumns(cat, source) {
  const s = cat.sources.find((x) => x.name === source);
  if (!s) return [];
  const list = s.fields && s.fields.length ? s.fields : s.columns || [];
  return list.map((c) => (typeof c === "string" ? c : c.name));
}
function columnKinds(cat, source) {
  const s = cat.sources.find((x) => x.name === source);
  const out = {};
  for (const c of (s && (s.fields || s.columns)) || []) if (typeof c === "object" && c.type) out[c.name] = traitKind(c.type);
  return out;
}
function sourceEvents(cat, source) {
  const s = cat.sources.find((x) => x.name === source);
  return ((s && s.events) || []).map((e) => (typeof e === "string" ? e : e.name));
}

// ---- definition → tree ----------------------------------------------------

// treeFrom reads a saved "where" into a root group. What the builder cannot
// show as fields is kept as it is (a raw node, shown as its definition).
function treeFrom(where, cat) {
  const n = nodeFrom(where || {}, cat);
  if (n.type === "group" && !n.negate) return n;
  return newGroup("all", [n]);
}

function nodeFrom(c, cat) {
  if (c.not) {
    const inner = nodeFrom(c.not, cat);
    if (!inner.negate) { inner.negate = true; return inner; }
    return Object.assign(newGroup("all", [inner]), { negate: true });
  }
  if (c.all || c.any) return newGroup(c.all ? "all" : "any", (c.all || c.any).map((x) => nodeFrom(x, cat)));
  return condFrom(c, cat) || { type: "raw", negate: false, json: c };
}

function condFrom(c, cat) {
  const r = newCond();
  if (c.segment) { r.kind = "segment"; r.segment = c.segment; return r; }
  if (c.event) return eventFrom(c.event, cat, r);
  if (c.trait) { r.trait = c.trait; return opFrom(c, r, traitKind(traitType(cat, c.trait))); }
  return null;
}

function eventFrom(e, cat, r) {
  r.kind = "event"; r.source = e.source || ""; r.event = e.name || "";
  if (e.within) { const d = durationFrom(e.within); if (!d) return null; r.days = d.n; r.dunit = d.u; }
  if (e.count) {
    const keys = Object.keys(e.count);
    if (keys.length !== 1 || !["gte", "lte", "eq"].includes(keys[0])) return null;
    r.countOp = keys[0]; r.count = String(e.count[keys[0]]);
  }
  const kinds = columnKinds(cat, r.source);
  for (const w of e.where || []) {
    if (!w.column) return null;
    const row = opFrom(w, newWhere(), kinds[w.column] || "any");
    if (!row) return null;
    row.column = w.column;
    r.where.push(row);
  }
  return r;
}

// opFrom reads the one operator of a trait or column condition into row r.
function opFrom(c, r, kind) {
  const keys = Object.keys(c).filter((k) => k !== "trait" && k !== "column");
  if (keys.length !== 1) return null;
  const k = keys[0], v = c[k];
  if (k === "is_null") { r.op = v ? "is_null" : "not_null"; return r; }
  const o = opsFor(kind).find((x) => x.op === k);
  if (!o) return null;
  r.op = k;
  switch (o.needs) {
    case "bool": r.value = String(v); break;
    case "days": { const d = durationFrom(v); if (!d) return null; r.value = d.n; r.unit = d.u; break; }
    case "date": if (!/^\d{4}-\d\d-\d\d$/.test(v)) return null; r.value = v; break;
    case "dates": if (!v.every((x) => /^\d{4}-\d\d-\d\d$/.test(x))) return null; r.value = v[0]; r.value2 = v[1]; break;
    case "two": r.value = String(v[0]); r.value2 = String(v[1]); break;
    case "list": r.value = v.join(", "); break;
    default: if (typeof v === "object") return null; r.value = String(v);
  }
  return r;
}

function durationFrom(s) {
  const m = /^(\d+)([dwh])$/.exec(String(s));
  return m ? { n: m[1], u: m[2] } : null;
}
