// The studio's editor page (webapp/templates/studio/ruleset.html, tariff.html): CodeMirror 6 over the
// draft, the server's check shown in place as the owner types (debounced), key completion from the
// rule-file JSON Schema, the simulator with its per-rule trace, "add as example", the impact preview,
// publish, history and rollback. Everything talks to the studio's JSON API (docs/studio-api.md) with the
// session's CSRF token; every text shown comes from the page (the catalogue), never from this file.
// Bundled by `make assets` (esbuild) into webapp/static/build/studio.js; nothing is loaded from a CDN.
import { EditorView, basicSetup } from "codemirror";
import { EditorState } from "@codemirror/state";
import { yaml } from "@codemirror/lang-yaml";
import { linter, lintGutter } from "@codemirror/lint";
import { autocompletion } from "@codemirror/autocomplete";

const root = document.getElementById("studio");
const csrf = () => (document.querySelector('input[name="csrf_token"]') || {}).value || "";
const messages = root ? JSON.parse(root.dataset.messages || "{}") : {};
const labels = root ? JSON.parse(root.dataset.labels || "{}") : {};

// A catalogue text with its {names} filled in.
function say(code, params = {}) {
  let text = messages[code] || code;
  for (const [name, value] of Object.entries(params)) text = text.split(`{${name}}`).join(String(value));
  return text;
}

// One element with text content (never HTML from a response).
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

// POST JSON to the studio API; resolves to {ok, status, body}.
async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json",
               "Accept-Language": root.dataset.lang, "X-CSRF-Token": csrf() },
    body: JSON.stringify(body),
  });
  let parsed = null;
  try { parsed = await response.json(); } catch (_) { parsed = null; }
  return { ok: response.ok, status: response.status, body: parsed };
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin",
    headers: { Accept: "application/json", "Accept-Language": root.dataset.lang } });
  let parsed = null;
  try { parsed = await response.json(); } catch (_) { parsed = null; }
  return { ok: response.ok, status: response.status, body: parsed };
}

// A problem body (application/problem+json) as a list of lines: detail, then each field error and
// each diagnostic line as flets-elig check prints it.
function problemLines(result) {
  const body = result.body || {};
  const lines = [];
  if (body.detail) lines.push(body.detail);
  for (const e of body.errors || []) lines.push(e.field ? `${e.field}: ${e.message}` : String(e.message || e));
  for (const d of body.diagnostics || []) lines.push(d.text || `${d.line}:${d.col}: ${d.code}: ${d.message}`);
  if (!lines.length) lines.push(say("studio_request_failed", { status: result.status }));
  return lines;
}

function showLines(target, lines, kind) {
  target.replaceChildren();
  const list = el("ul", { class: `lines ${kind || ""}` });
  for (const line of lines) list.append(el("li", { text: line }));
  target.append(list);
}

// --- completion from the JSON Schema --------------------------------------------------------------

let schema = null;

function deref(node) {
  let seen = 0;
  while (node && node.$ref && seen++ < 20) {
    const path = node.$ref.replace(/^#\//, "").split("/");
    node = path.reduce((n, key) => (n ? n[key] : undefined), schema);
  }
  return node || {};
}

function branches(node) {
  node = deref(node);
  const found = [node];
  for (const key of ["oneOf", "anyOf", "allOf"]) for (const b of node[key] || []) found.push(...branches(b));
  if (node.then) found.push(...branches(node.then));
  return found;
}

function childSchema(node, key) {
  for (const b of branches(node)) {
    const target = b.items && !b.properties ? deref(b.items) : b;
    for (const t of branches(target)) {
      if (t.properties && t.properties[key]) return t.properties[key];
      if (t.additionalProperties && typeof t.additionalProperties === "object") return t.additionalProperties;
    }
  }
  return {};
}

function keysOf(node) {
  const keys = new Set();
  for (const b of branches(node)) {
    const target = b.items && !b.properties ? deref(b.items) : b;
    for (const t of branches(target)) for (const k of Object.keys(t.properties || {})) keys.add(k);
  }
  return [...keys];
}

// The keys leading to the line at `lineNo`: each earlier line with less indentation that opens a map.
function pathAt(doc, lineNo, indent) {
  const path = [];
  let want = indent;
  for (let n = lineNo - 1; n >= 1 && want > 0; n--) {
    const text = doc.line(n).text;
    if (!text.trim() || text.trim().startsWith("#")) continue;
    const m = /^(\s*)(- )?([A-Za-z_][\w]*)\s*:/.exec(text);
    const lead = /^(\s*)(- )?/.exec(text);
    const own = lead[1].length + (lead[2] ? 2 : 0);
    if (own < want && m) {
      path.unshift(m[3]);
      want = m[1].length;
    } else if (own < want) {
      want = own;
    }
  }
  return path;
}

function schemaCompletion(context) {
  if (!schema) return null;
  const line = context.state.doc.lineAt(context.pos);
  const before = line.text.slice(0, context.pos - line.from);
  const m = /^(\s*)(- )?([A-Za-z_]\w*)?$/.exec(before);
  if (!m) return null;
  if (!m[3] && !context.explicit) return null;
  const indent = m[1].length + (m[2] ? 2 : 0);
  let node = schema;
  for (const key of pathAt(context.state.doc, line.number, indent)) node = childSchema(node, key);
  const keys = keysOf(node);
  if (!keys.length) return null;
  return {
    from: context.pos - (m[3] || "").length,
    options: keys.map((k) => ({ label: k, type: "property", apply: `${k}: ` })),
    validFor: /^\w*$/,
  };
}

// --- the editor and its diagnostics -----------------------------------------------------------------

let view = null;
let checkSeq = 0;
const draft = () => (view ? view.state.doc.toString() : document.getElementById("draft").value);

function setDraft(text) {
  if (view) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  else document.getElementById("draft").value = text;
}

function renderDiagnostics(body) {
  const list = document.getElementById("diagnostics");
  const status = document.getElementById("check-status");
  list.replaceChildren();
  for (const d of body.diagnostics || []) {
    list.append(el("li", { class: `diagnostic ${d.severity}`, "data-code": d.code, "data-line": String(d.line) },
      el("code", { text: d.text || `${d.line}:${d.col}: ${d.code}: ${d.message}` })));
  }
  status.textContent = body.errors
    ? say("studio_check_errors", { errors: body.errors, warnings: body.warnings || 0 })
    : say("studio_check_clean", { warnings: body.warnings || 0 });
  status.className = `status ${body.errors ? "bad" : "good"}`;
}

async function checkDraft(editorView) {
  const seq = ++checkSeq;
  document.getElementById("check-status").textContent = say("studio_checking");
  const result = await post(`${root.dataset.api}/check`, { text: editorView.state.doc.toString() });
  if (seq !== checkSeq) return [];
  if (!result.ok || !result.body) {
    const status = document.getElementById("check-status");
    status.textContent = say("studio_request_failed", { status: result.status });
    status.className = "status bad";
    showLines(document.getElementById("diagnostics"), problemLines(result), "bad");
    return [];
  }
  renderDiagnostics(result.body);
  const doc = editorView.state.doc;
  return (result.body.diagnostics || []).map((d) => {
    const line = doc.line(Math.min(Math.max(d.line || 1, 1), doc.lines));
    const from = Math.min(line.from + Math.max((d.col || 1) - 1, 0), line.to);
    const to = from < line.to ? line.to : from;
    return { from, to, severity: d.severity === "warning" ? "warning" : "error",
             message: `${d.code}: ${d.message}`, source: d.code };
  });
}

function startEditor() {
  const area = document.getElementById("draft");
  const host = document.getElementById("cm-host");
  if (!area || !host) return;
  const label = document.querySelector('label[for="draft"]');
  view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: area.value,
      extensions: [
        basicSetup,
        yaml(),
        lintGutter(),
        linter(checkDraft, { delay: 600 }),
        autocompletion({ override: [schemaCompletion] }),
        EditorView.contentAttributes.of({ "aria-label": label ? label.textContent : "YAML",
                                          "aria-describedby": "check-status" }),
        EditorView.lineWrapping,
        EditorView.cspNonce.of(root.dataset.nonce || ""),
      ],
    }),
  });
  host.studioView = view;
  // Keyboard users reach the scroller too (axe: scrollable-region-focusable); the text is inside it.
  view.scrollDOM.setAttribute("tabindex", "0");
  view.scrollDOM.setAttribute("aria-label", label ? label.textContent : "YAML");
  area.hidden = true;
  area.setAttribute("aria-hidden", "true");
  if (label) label.setAttribute("for", "");
  if (root.dataset.schema) {
    getJSON(root.dataset.schema).then((r) => { if (r.ok) schema = r.body; });
  }
}

// --- the simulator ------------------------------------------------------------------------------------

let lastCase = null;

function clearHighlights() {
  for (const row of document.querySelectorAll("#sheet tbody tr")) {
    row.classList.remove("sim-held", "sim-failed", "sim-unknown", "sim-decides");
    row.removeAttribute("aria-current");
  }
}

function highlight(trace, decision) {
  clearHighlights();
  const deciding = new Set((decision.reasons || []).map((r) => r.rule).filter(Boolean));
  for (const t of trace) {
    const row = document.querySelector(`#sheet tr[data-rule="${CSS.escape(t.rule)}"]`);
    if (!row) continue;
    row.classList.add(`sim-${t.status || (t.matched ? "held" : "failed")}`);
    if (t.decides || deciding.has(t.rule)) {
      row.classList.add("sim-decides");
      row.setAttribute("aria-current", "true");
    }
  }
  if (!deciding.size) {
    const row = document.getElementById("row-_default");
    if (row) { row.classList.add("sim-decides"); row.setAttribute("aria-current", "true"); }
  }
}

const STATUS_MARK = { held: "✓", failed: "✗", unknown: "?" };

// The mark of a status, with its word for screen readers (the mark alone is decoration).
function statusMark(status) {
  return el("span", { class: "mark" }, el("span", { "aria-hidden": "true", text: STATUS_MARK[status] || "" }),
    el("span", { class: "visually-hidden", text: labels[status] || status }));
}

function renderTrace(body) {
  const target = document.getElementById("sim-result");
  const d = body.decision || {};
  target.replaceChildren();
  target.append(el("h3", { class: `answer ${d.kind || ""}`, id: "sim-answer" },
    `${d.label || d.outcome || ""} `, el("code", { text: d.outcome || "" })));
  const reasons = el("ul", { class: "reasons" });
  for (const r of d.reasons || []) {
    reasons.append(el("li", {}, el("code", { text: r.code }), ` ${r.message || ""}`));
  }
  target.append(reasons);
  const list = el("ol", { class: "trace", id: "trace" });
  for (const t of body.trace || []) {
    const status = t.status || (t.matched ? "held" : "failed");
    const item = el("li", { class: `rule ${status}${t.decides ? " decides" : ""}`, "data-rule": t.rule },
      statusMark(status), " ", el("code", { text: t.rule }), ` → ${t.outcome || ""}`);
    const conds = el("ul", { class: "conditions" });
    for (const c of t.conditions || []) {
      const shown = c.value === undefined || c.value === null ? "—" : JSON.stringify(c.value);
      conds.append(el("li", { class: `cond ${c.status}`, "data-status": c.status },
        statusMark(c.status), " ", el("code", { text: c.text || "" }), ` (${shown})`));
    }
    item.append(conds);
    list.append(item);
  }
  target.append(list);
  highlight(body.trace || [], d);
  target.focus();
}

async function simulate(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const target = document.getElementById("sim-result");
  const read = await fetch(root.dataset.factsUrl, {
    method: "POST", credentials: "same-origin", body: new FormData(form),
    headers: { Accept: "application/json" },
  });
  if (!read.ok) { showLines(target, [say("studio_request_failed", { status: read.status })], "bad"); return; }
  const { facts } = await read.json();
  const asOf = form.querySelector('[name="__as_of"]');
  const body = { facts, text: draft(), lang: root.dataset.lang };
  if (asOf && asOf.value) body.as_of = asOf.value;
  const result = await post(`${root.dataset.api}/simulate`, body);
  if (!result.ok) {
    showLines(target, problemLines(result), "bad");
    document.getElementById("add-example-box").hidden = true;
    return;
  }
  lastCase = { facts, as_of: body.as_of };
  renderTrace(result.body);
  document.getElementById("add-example-box").hidden = false;
}

async function quote(event) {
  event.preventDefault();
  const target = document.getElementById("sim-result");
  let request;
  try {
    request = JSON.parse(document.getElementById("quote-request").value);
  } catch (error) {
    showLines(target, [String(error.message || error)], "bad");
    return;
  }
  const result = await post(`${root.dataset.api}/simulate`, { request, text: draft() });
  if (!result.ok) { showLines(target, problemLines(result), "bad"); return; }
  const q = result.body.quote || {};
  const yen = (n) => (n === null || n === undefined ? "—" : `${Number(n).toLocaleString()} ${labels.yen || ""}`);
  target.replaceChildren();
  const table = el("table", { class: "quote-lines", id: "quote-lines" });
  table.append(el("thead", {}, el("tr", {}, ...["item", "quantity", "amount"].map((h) => el("th", { scope: "col", text: labels[h] || h })))));
  const tbody = el("tbody");
  for (const line of q.lines || []) {
    const desc = line.description && typeof line.description === "object" ? line.description[root.dataset.lang] : line.item;
    tbody.append(el("tr", {}, el("td", { text: desc || line.item || "" }), el("td", { class: "num", text: String(line.quantity ?? "") }),
      el("td", { class: "num", text: yen(line.amount) })));
  }
  table.append(tbody);
  if (q.totals) {
    const foot = el("tfoot");
    for (const [key, value] of [["total_excluded", q.totals.amount_tax_excluded], ["tax", q.totals.tax], ["total_included", q.totals.amount_tax_included]]) {
      foot.append(el("tr", {}, el("th", { scope: "row", colspan: "2", text: labels[key] || key }), el("td", { class: "num", text: yen(value) })));
    }
    table.append(foot);
  }
  target.append(table);
  lastCase = { request };
  document.getElementById("add-example-box").hidden = false;
}

async function addExample() {
  if (!lastCase) return;
  const note = document.getElementById("example-note").value || "studio";
  const result = await post(`${root.dataset.api}/examples`, { text: draft(), note, ...lastCase });
  const target = document.getElementById("check-status");
  if (!result.ok) { showLines(document.getElementById("diagnostics"), problemLines(result), "bad"); return; }
  setDraft(result.body.text);
  target.textContent = say("studio_example_added");
  document.getElementById("add-example").setAttribute("data-added", "true");
}

// --- impact, publish, history ------------------------------------------------------------------------

async function impact() {
  const target = document.getElementById("impact-result");
  target.replaceChildren(el("p", { text: say("studio_checking") }));
  const result = await post(`${root.dataset.api}/impact`, { text: draft() });
  if (!result.ok) { showLines(target, problemLines(result), "bad"); return; }
  target.replaceChildren();
  const log = result.body.log;
  if (log) {
    target.append(el("p", { id: "impact-summary", text: say("studio_impact_summary", { replayed: log.replayed, changed: log.changed }) }));
    const groups = el("ul", { class: "groups", id: "impact-groups" });
    for (const g of log.groups || []) {
      const item = el("li", {}, el("code", { text: g.from }), " → ", el("code", { text: g.to }), ` × ${g.count}`);
      const samples = el("ul", { class: "samples" });
      for (const c of (g.examples || []).slice(0, 3)) samples.append(el("li", {}, el("code", { text: JSON.stringify(c.facts) })));
      item.append(samples);
      groups.append(item);
    }
    target.append(groups);
  } else {
    target.append(el("p", { text: say("studio_impact_no_log") }));
  }
  const ex = result.body.examples;
  if (ex) {
    target.append(el("p", { id: "impact-examples", class: ex.failed ? "bad" : "good", text: say("studio_examples_summary", { passed: ex.passed, failed: ex.failed }) }));
    const failures = el("ul", { class: "lines bad" });
    for (const r of ex.results || []) if (!r.passed) failures.append(el("li", { text: `#${r.index + 1} (${r.line}) ${r.note}: ${r.failure}` }));
    if (failures.childElementCount) target.append(failures);
  }
}

async function publish(event) {
  event.preventDefault();
  const target = document.getElementById("publish-result");
  const reason = document.getElementById("publish-reason").value.trim();
  if (!reason) { showLines(target, [say("studio_reason_needed")], "bad"); return; }
  const result = await post(`${root.dataset.api}/publish`, { text: draft(), reason, base_digest: root.dataset.digest });
  target.replaceChildren();
  if (!result.ok) {
    target.append(el("p", { class: "bad", text: say("studio_publish_refused") }));
    const lines = el("ul", { class: "lines bad", id: "publish-diagnostics" });
    for (const line of problemLines(result)) lines.append(el("li", {}, el("code", { text: line })));
    target.append(lines);
    return;
  }
  if (result.body.unchanged) { target.append(el("p", { text: say("studio_unchanged") })); return; }
  const record = result.body.publish || {};
  root.dataset.digest = record.digest || root.dataset.digest;
  root.dataset.version = record.version || root.dataset.version;
  const served = document.getElementById("served-version");
  if (served && record.version) served.textContent = record.version;
  target.append(el("p", { class: "good", id: "published" }, say("studio_published", { version: record.version }), " ",
    el("a", { href: window.location.pathname, text: labels.reload || "" })));
  history();
}

async function rollback(event) {
  event.preventDefault();
  const target = document.getElementById("publish-result");
  const reason = document.getElementById("rollback-reason").value.trim();
  if (!reason) { showLines(target, [say("studio_reason_needed")], "bad"); return; }
  const result = await post(`${root.dataset.api}/rollback`, { reason });
  if (!result.ok) { showLines(target, problemLines(result), "bad"); return; }
  const record = result.body.publish || {};
  root.dataset.digest = record.digest || root.dataset.digest;  // the next publish builds on this one
  showLines(target, [say("studio_rolled_back", { version: record.version })], "good");
  history();
}

async function history() {
  const target = document.getElementById("history");
  if (!target) return;
  const url = `${root.dataset.publishes}?kind=${encodeURIComponent(root.dataset.kind)}&id=${encodeURIComponent(root.dataset.id)}&limit=20`;
  const result = await getJSON(url);
  target.replaceChildren();
  if (!result.ok) { showLines(target, problemLines(result), "bad"); return; }
  const records = result.body.publishes || [];
  if (!records.length) { target.append(el("p", { text: say("studio_no_publishes") })); return; }
  const list = el("ol", { class: "history", reversed: "" });
  for (const r of records) {
    const item = el("li", {}, el("strong", { text: `${r.previous_version || "—"} → ${r.version}` }),
      ` ${(r.at || "").slice(0, 19).replace("T", " ")} · ${r.who || ""} · ${r.reason || ""}`);
    if (r.diff) {
      const details = el("details", {}, el("summary", { text: labels.diff || "diff" }), el("pre", { class: "diff", text: r.diff }));
      item.append(details);
    }
    list.append(item);
  }
  target.append(list);
}

// "Make the table of this draft" posts the form around the editor: the hidden textarea gets the
// editor's text first (the page answers with the draft's table; nothing is published).
function syncDraftField() {
  const area = document.getElementById("draft");
  if (area && view) area.value = draft();
}

function start() {
  const draftForm = document.getElementById("draft-form");
  if (draftForm) draftForm.addEventListener("submit", syncDraftField);
  if (!root) return;
  startEditor();
  const sim = document.getElementById("simulate-form");
  if (sim) sim.addEventListener("submit", simulate);
  const q = document.getElementById("quote-form");
  if (q) q.addEventListener("submit", quote);
  const add = document.getElementById("add-example");
  if (add) add.addEventListener("click", addExample);
  const run = document.getElementById("impact-run");
  if (run) run.addEventListener("click", impact);
  const pub = document.getElementById("publish-form");
  if (pub) pub.addEventListener("submit", publish);
  const back = document.getElementById("rollback-form");
  if (back) back.addEventListener("submit", rollback);
  history();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
