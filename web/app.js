// laneface console: login, live lane view (server-sent events), history, reports, audit.
// Plain JS, no dependencies, no external network. Text goes into the page only through
// textContent (never innerHTML) so record contents cannot inject markup.
"use strict";

const state = {
  me: null, lane: null, lanes: [], events: null, vehicles: new Map(),
  hist: { offset: 0, limit: 25, total: 0, query: {} },
};

// ---- helpers ------------------------------------------------------------------------------
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}
const $ = (id) => document.getElementById(id);
function toast(msg, bad) {
  const t = $("toast");
  t.textContent = msg;
  t.className = "toast" + (bad ? " bad" : "");
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (t.hidden = true), 3500);
}
function fmtTime(iso) { return iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "").replace("Z", "") : ""; }
function hasRole(...roles) { return state.me && roles.includes(state.me.role); }

async function api(path, opts = {}) {
  const headers = { "X-Requested-With": "laneface" };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, {
    method: opts.method || "GET", headers, credentials: "same-origin",
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  let data = null;
  const type = res.headers.get("Content-Type") || "";
  if (type.includes("json")) data = await res.json(); else data = await res.text();
  if (res.status === 401 && path !== "/api/login") { showLogin("Your session ended: log in again."); }
  if (!res.ok) {
    const err = new Error((data && data.error) || res.statusText);
    err.status = res.status;
    throw err;
  }
  return data;
}

// ---- login --------------------------------------------------------------------------------
function showLogin(message) {
  if (state.events) { state.events.close(); state.events = null; }
  state.me = null;
  $("app-view").hidden = true;
  $("login-view").hidden = false;
  $("login-error").textContent = message || "";
  $("login-user").focus();
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    await api("/api/login", { method: "POST", body: { user: $("login-user").value, password: $("login-password").value } });
    $("login-password").value = "";
    await enter();
  } catch (e) {
    $("login-error").textContent = e.message;
  }
});

$("logout").addEventListener("click", async () => {
  try { await api("/api/logout", { method: "POST", body: {} }); } catch (e) { /* already gone */ }
  showLogin("Logged out.");
});

async function enter() {
  state.me = await api("/api/me");
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("whoami").textContent = `${state.me.user} · ${state.me.role}`;
  const operator = hasRole("officer", "supervisor", "admin");
  const oversight = hasRole("auditor", "supervisor", "admin");
  document.querySelector('[data-tab="lane"]').hidden = !operator;
  document.querySelector('[data-tab="audit"]').hidden = !oversight;
  document.querySelectorAll(".manager-only").forEach((e) => (e.hidden = !hasRole("supervisor", "admin")));
  showTab(operator ? "lane" : "history");
  if (operator) { await loadLanes(); connectEvents(); }
}

// ---- tabs ---------------------------------------------------------------------------------
function showTab(name) {
  document.querySelectorAll(".tab").forEach((t) => t.classList.toggle("active", t.dataset.tab === name));
  document.querySelectorAll(".tab-panel").forEach((p) => (p.hidden = p.id !== "tab-" + name));
  if (name === "history") searchHistory(0);
  if (name === "reports") loadReports();
  if (name === "audit") loadAudit();
}
document.querySelectorAll(".tab").forEach((t) => t.addEventListener("click", () => showTab(t.dataset.tab)));

// ---- lane view ----------------------------------------------------------------------------
async function loadLanes() {
  const { lanes } = await api("/api/lanes");
  state.lanes = lanes;
  const sel = $("lane-select");
  sel.replaceChildren(...lanes.map((l) => el("option", { value: l.id }, `${l.id} · ${l.port} · ${l.direction}`)));
  if (!state.lane && lanes.length) state.lane = lanes[0].id;
  if (state.lane) sel.value = state.lane;
  updateLaneInfo();
  await loadRecent();
}
function updateLaneInfo() {
  const l = state.lanes.find((x) => x.id === state.lane);
  if (!l) { $("lane-info").textContent = "no lanes configured"; return; }
  let status = l.running ? " · replaying" : "";
  // Live lanes (camera streams): connection state, segments recorded, and the last error.
  if (l.source === "stream") {
    status = ` · live ${l.state}${l.segments ? ` · ${l.segments} segments` : ""}${l.dropped_segments ? ` · ${l.dropped_segments} dropped` : ""}${l.error ? ` · ${l.error}` : ""}`;
  }
  $("lane-info").textContent = `${l.cameras.length} cameras (${l.cameras.join(", ")})${status}`;
}
$("lane-select").addEventListener("change", async (e) => {
  state.lane = e.target.value;
  state.vehicles.clear();
  updateLaneInfo();
  await loadRecent();
});
$("lane-start").addEventListener("click", async () => {
  try { const r = await api(`/api/lanes/${encodeURIComponent(state.lane)}/start`, { method: "POST", body: { speed: 1 } }); toast(r && r.source === "stream" ? "Cameras connected" : "Replay started"); loadLanes(); }
  catch (e) { toast(e.message, true); loadLanes(); }
});
$("lane-stop").addEventListener("click", async () => {
  try { await api(`/api/lanes/${encodeURIComponent(state.lane)}/stop`, { method: "POST", body: {} }); toast("Stopped"); loadLanes(); }
  catch (e) { toast(e.message, true); }
});

async function loadRecent() {
  $("feed").replaceChildren(el("div", { class: "empty muted", id: "feed-empty" }, "Waiting for vehicles… (live over server-sent events)"));
  state.vehicles.clear();
  if (!state.lane) return;
  const { vehicles } = await api(`/api/lanes/${encodeURIComponent(state.lane)}/recent`);
  for (const v of vehicles.slice().reverse()) renderVehicle(v, false);
  updateStats();
}

function connectEvents() {
  if (state.events) state.events.close();
  const es = new EventSource("/api/events");
  state.events = es;
  es.onopen = () => { $("live").className = "live on"; $("live").textContent = "live"; };
  es.onerror = () => { $("live").className = "live off"; $("live").textContent = "reconnecting"; };
  es.addEventListener("vehicle_arrived", (m) => {
    const d = JSON.parse(m.data);
    if (d.lane !== state.lane) return;
    renderVehicle({ vehicle: d.vehicle, lane: d.lane, direction: d.direction, time: d.time, pending: true }, true);
  });
  es.addEventListener("vehicle_done", (m) => {
    const d = JSON.parse(m.data);
    if (d.lane !== state.lane) { loadLanesQuiet(); return; }
    renderVehicle(d, true);
    updateStats();
  });
  es.addEventListener("decision_ready", (m) => {
    const d = JSON.parse(m.data);
    if (d.kind === "officer") markDecision(d.occupant_id, d.outcome, d.officer);
  });
  es.addEventListener("lane_started", loadLanesQuiet);
  es.addEventListener("lane_stopped", loadLanesQuiet);
  es.addEventListener("lane_error", loadLanesQuiet);
}
async function loadLanesQuiet() {
  try { const { lanes } = await api("/api/lanes"); state.lanes = lanes; updateLaneInfo();
    if (!state.lane && lanes.length) { await loadLanes(); } } catch (e) { /* ignore */ }
}

// The occupants of a processed vehicle: the pipeline's result joined with the store record.
function occupantsOf(v) {
  const res = v.result || {};
  const rec = v.record || {};
  const byId = new Map((rec.occupants || []).map((o) => [o.occupant_id, o]));
  const list = (res.occupants || []).map((o) => ({ ...o, rec: byId.get(o.occupant_id) }));
  for (const nc of res.not_captured || []) {
    const same = list.find((o) => nc.occupant !== undefined && o.occupant === nc.occupant);
    if (same) { same.captured = false; same.reasons = nc.reasons; }
    else list.push({ ...nc, captured: false, rec: byId.get(nc.occupant_id) });
  }
  return list;
}

function needsOfficer(o) {
  if (o.captured === false) return "not captured";
  const outcome = (o.match && o.match.outcome) || (o.rec && o.rec.match && o.rec.match.outcome);
  if (outcome !== "matched") return "not matched";
  return null;
}

function renderVehicle(v, fresh) {
  const key = `${v.lane}/${v.vehicle}`;
  const feed = $("feed");
  const empty = $("feed-empty");
  if (empty) empty.remove();
  const occs = v.pending ? [] : occupantsOf(v);
  const alerts = occs.map(needsOfficer).filter(Boolean);
  const card = el("article", {
    class: "vehicle" + (v.pending ? " pending" : alerts.length || v.error ? " alert" : "") + (fresh ? " fresh" : ""),
    dataset: { vehicle: v.vehicle, crossing: (v.result && v.result.crossing_id) || "" },
  },
    el("div", { class: "vhead" },
      el("span", { class: "vid" }, v.vehicle),
      el("span", { class: "dir" }, v.direction || ""),
      el("span", { class: "muted" }, `lane ${v.lane}`),
      el("span", { class: "muted" }, fmtTime(v.time)),
      v.result && v.result.crossing_id ? el("span", { class: "muted" }, `crossing #${v.result.crossing_id}`) : null,
      el("span", { class: "spacer" }),
      v.pending ? el("span", { class: "badge info" }, "processing…") : null,
      v.result && v.result.latency_ms !== undefined ? el("span", { class: "score" }, `${Math.round(v.result.latency_ms)} ms`) : null,
      v.result && v.result.stand_in ? el("span", { class: "badge warn", title: "stand-in processor: no biometrics" }, "stand-in") : null,
    ),
  );
  if (v.error) card.append(el("div", { class: "banner" }, `Processing failed: ${v.error} — inspect the vehicle manually.`));
  else if (!v.pending) {
    const nc = alerts.filter((a) => a === "not captured").length;
    const nm = alerts.filter((a) => a === "not matched").length;
    if (alerts.length) {
      const parts = [];
      if (nc) parts.push(`${nc} occupant${nc > 1 ? "s" : ""} NOT CAPTURED`);
      if (nm) parts.push(`${nm} NOT MATCHED`);
      card.append(el("div", { class: "banner", role: "alert" }, `⚠ ${parts.join(" · ")} — officer check required`));
    } else {
      card.append(el("div", { class: "banner ok" }, `✓ ${occs.length} occupant${occs.length === 1 ? "" : "s"} captured and matched`));
    }
    card.append(el("div", { class: "occupants" }, occs.map(renderOccupant)));
  }
  const old = state.vehicles.get(key);
  if (old && old.isConnected) old.replaceWith(card); else feed.prepend(card);
  state.vehicles.set(key, card);
  card._data = v;
  while (feed.children.length > 60) { const last = feed.lastElementChild; state.vehicles.delete(`${last._data?.lane}/${last.dataset.vehicle}`); last.remove(); }
}

// The occupant's seat ("front_passenger" → "front passenger") with its row; the row alone when
// the pipeline gave no seat.
function seatHeading(o, rec) {
  const seat = String(o.seat || rec.seat || "").replace(/_/g, " ").trim();
  const row = o.row ?? rec.row;
  const rowText = row === undefined || row === null ? "" : `row ${row}`;
  return el("h4", { class: "seat", dataset: { seat: seat || "" } },
    seat ? [el("span", {}, seat), rowText ? el("span", { class: "muted" }, ` · ${rowText}`) : null] : (rowText || "seat unknown"));
}

function renderOccupant(o) {
  const rec = o.rec || {};
  const match = rec.match || o.match || null;
  const doc = rec.document || null;
  const photoId = (rec.photo_ids && rec.photo_ids[0]) || o.photo_id;
  const captured = o.captured !== false;
  const alert = needsOfficer(o);
  const canPhoto = hasRole("officer", "supervisor", "admin");
  const thumb = photoId && canPhoto
    ? el("img", { class: "thumb", src: `/api/photos/${photoId}`, alt: `best shot of occupant ${o.occupant_id}`, loading: "lazy" })
    : el("div", { class: "thumb" }, captured ? (canPhoto ? "no photo" : "photo restricted") : "not captured");
  const profile = o.profile || {};
  const failures = profile.failures || [];
  const quality = !captured
    ? el("span", { class: "badge bad" }, "not captured")
    : profile.passed === false
      ? el("span", { class: "badge warn" }, "quality failed")
      : el("span", { class: "badge ok" }, "quality passed");
  const reasons = (o.reasons || []).concat(failures.map((f) => (typeof f === "string" ? f : f.reason || f.measure || JSON.stringify(f))));
  let result;
  if (match && match.outcome === "matched") {
    result = el("div", {},
      el("div", { class: "line" }, el("span", { class: "badge ok" }, "matched"), " ",
        el("span", { class: "name" }, doc ? doc.holder_name : `subject ${match.subject_id}`)),
      el("div", { class: "line score" }, doc ? `${doc.type} ${doc.number} (${doc.country})` : (o.match && o.match.document) || "",
        match.score !== null && match.score !== undefined ? ` · score ${Number(match.score).toFixed(3)}` : "",
        match.gallery ? ` · ${match.gallery}` : ""));
  } else {
    const conflict = o.match && o.match.conflict ? "a traveller it matched went to another occupant with a higher score · " : "";
    result = el("div", { class: "line" }, el("span", { class: "badge bad" }, captured ? "not matched" : "no photo"), " ",
      el("span", { class: "muted" }, conflict + "refer to officer"));
  }
  const decisions = (rec.officer_decisions || []);
  const last = decisions[decisions.length - 1];
  const oid = o.occupant_id || rec.occupant_id;
  const canDecide = oid && hasRole("officer", "supervisor", "admin");
  const subject = (match && match.subject_id) || rec.subject_id || null;
  const box = el("div", { class: "occ" + (alert ? " bad" : ""), dataset: { occupant: oid || "" } },
    thumb,
    el("div", {},
      seatHeading(o, rec),
      el("div", { class: "line" }, quality),
      reasons.length ? el("ul", { class: "reasons" }, reasons.map((r) => el("li", {}, r))) : null,
      result,
      canDecide ? el("div", { class: "actions" },
        el("button", { class: "confirm", disabled: !subject, title: subject ? "confirm the match" : "nothing to confirm", onclick: () => decide(oid, "confirm", subject) }, "Confirm"),
        el("button", { class: "override", onclick: () => decide(oid, "override", null) }, "Override"),
        el("button", { class: "refer", onclick: () => decide(oid, "refer", null) }, "Refer")) : null,
      el("div", { class: "decided" }, last ? `${last.outcome} by ${last.officer}` : ""),
    ));
  return box;
}

async function decide(occupantId, action, subjectId) {
  let note = "";
  if (action === "override") note = "officer override";
  try {
    const body = { occupant_id: occupantId, action, note };
    if (subjectId) body.subject_id = subjectId;
    const r = await api("/api/decisions", { method: "POST", body });
    markDecision(occupantId, r.outcome, r.officer);
    toast(`Decision recorded: ${r.outcome} (#${r.decision_id})`);
  } catch (e) { toast(e.message, true); }
}

function markDecision(occupantId, outcome, officer) {
  document.querySelectorAll(`.occ[data-occupant="${CSS.escape(String(occupantId))}"] .decided`).forEach((d) => {
    d.textContent = `${outcome} by ${officer}`;
  });
}

function updateStats() {
  let vehicles = 0, occupants = 0, captured = 0, alerts = 0, lat = [];
  for (const card of state.vehicles.values()) {
    const v = card._data;
    if (!v || v.pending) continue;
    vehicles++;
    const occs = occupantsOf(v);
    occupants += occs.length;
    captured += occs.filter((o) => o.captured !== false).length;
    alerts += occs.filter(needsOfficer).length;
    if (v.result && v.result.latency_ms !== undefined) lat.push(v.result.latency_ms);
  }
  $("stat-vehicles").textContent = vehicles;
  $("stat-occupants").textContent = occupants;
  $("stat-capture").textContent = occupants ? `${Math.round((100 * captured) / occupants)}%` : "–";
  $("stat-alerts").textContent = alerts;
  $("stat-latency").textContent = lat.length ? `${Math.round(lat.reduce((a, b) => a + b, 0) / lat.length)} ms` : "–";
}

// ---- history ------------------------------------------------------------------------------
$("history-form").addEventListener("submit", (e) => { e.preventDefault(); searchHistory(0); });
$("hist-prev").addEventListener("click", () => searchHistory(Math.max(0, state.hist.offset - state.hist.limit)));
$("hist-next").addEventListener("click", () => searchHistory(state.hist.offset + state.hist.limit));

async function searchHistory(offset) {
  const form = new FormData($("history-form"));
  const q = new URLSearchParams();
  for (const [k, v] of form.entries()) {
    if (!v) continue;
    q.set(k, (k === "from" || k === "to") ? new Date(v).toISOString() : v);
  }
  q.set("offset", offset);
  q.set("limit", state.hist.limit);
  try {
    const page = await api(`/api/crossings?${q}`);
    state.hist.offset = page.offset; state.hist.total = page.total;
    const tbody = $("history-table").querySelector("tbody");
    tbody.replaceChildren(...page.items.map((c) => {
      const occ = c.occupants;
      const count = (f) => occ.filter(f).length;
      const officer = occ.flatMap((o) => o.officer_decisions).map((d) => `${d.outcome} (${d.officer})`).join(", ");
      return el("tr", { onclick: () => showCrossing(c) },
        el("td", {}, fmtTime(c.time)), el("td", { class: "num" }, c.crossing_id), el("td", {}, c.lane),
        el("td", {}, c.direction), el("td", { class: "num" }, occ.length),
        el("td", { class: "num" }, count((o) => o.match && o.match.outcome === "matched")),
        el("td", { class: "num" }, count((o) => o.capture === "captured" && !(o.match && o.match.outcome === "matched"))),
        el("td", { class: "num" }, count((o) => o.capture === "not_captured")),
        el("td", {}, officer));
    }));
    $("history-summary").textContent = `${page.total} crossing${page.total === 1 ? "" : "s"}`;
    $("hist-page").textContent = page.total ? `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}` : "";
    $("hist-prev").disabled = page.offset === 0;
    $("hist-next").disabled = page.offset + page.items.length >= page.total;
  } catch (e) { toast(e.message, true); }
}

function showCrossing(c) {
  const v = {
    vehicle: `crossing #${c.crossing_id}`, lane: c.lane, direction: c.direction, time: c.time,
    result: { crossing_id: c.crossing_id, occupants: c.occupants.map((o) => ({ occupant_id: o.occupant_id, row: o.row, seat: o.seat, captured: o.capture === "captured" })) },
    record: c,
  };
  const holder = $("history-detail");
  holder.replaceChildren();
  const feed = el("div", { class: "feed" });
  holder.append(el("h3", {}, "Crossing detail"), feed);
  const saved = $("feed");
  feed.id = "feed";
  saved.id = "feed-live";
  try { renderVehicle(v, false); } finally { feed.id = ""; saved.id = "feed"; }
  state.vehicles.delete(`${v.lane}/${v.vehicle}`);
  holder.scrollIntoView({ behavior: "smooth" });
}

// ---- reports ------------------------------------------------------------------------------
async function loadReports() {
  try {
    const [dep, over, unm, stats] = await Promise.all([
      api("/api/reports/departures"), api("/api/reports/overstays"), api("/api/reports/unmatched"),
      api("/api/reports/lane-stats?minutes=240"),
    ]);
    drawDepartures(dep);
    $("over-asof").textContent = over.as_of ? `as of ${over.as_of}` : "";
    $("overstays-table").querySelector("tbody").replaceChildren(...(over.rows || []).map((r) =>
      el("tr", {}, el("td", {}, r.subject_id), el("td", {}, r.document ? `${r.document.type} ${r.document.number}` : ""),
        el("td", {}, r.admitted_until), el("td", { class: "num" }, r.days_over), el("td", {}, r.last_entry ? fmtTime(r.last_entry.time) : "—"))));
    if (!(over.rows || []).length) $("overstays-table").querySelector("tbody").append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "none")));
    $("unmatched-table").querySelector("tbody").replaceChildren(...(unm.rows || []).map((r) =>
      el("tr", {}, el("td", {}, fmtTime(r.time)), el("td", {}, r.subject_id), el("td", {}, r.lane), el("td", {}, r.port), el("td", {}, r.biometric ? "yes" : "officer"))));
    if (!(unm.rows || []).length) $("unmatched-table").querySelector("tbody").append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "none")));
    const m = stats.minutes || [];
    lineChart($("chart-capture"), m.map((x) => x.time.slice(11, 16)), [{ values: m.map((x) => 100 * x.capture_rate), color: "#1b7f3b", label: "capture %" }], 0, 100, "%");
    lineChart($("chart-latency"), m.map((x) => x.time.slice(11, 16)), [
      { values: m.map((x) => x.latency_ms_mean), color: "#1f5fbf", label: "mean" },
      { values: m.map((x) => x.latency_ms_max), color: "#b3261e", label: "max" }], 0, null, "ms");
  } catch (e) { toast(e.message, true); }
}

function setupCanvas(canvas) {
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.font = "11px DejaVu Sans, sans-serif";
  return ctx;
}

function drawDepartures(rep) {
  const canvas = $("chart-departures");
  const ctx = setupCanvas(canvas);
  const byDay = new Map();
  for (let d = new Date(rep.from + "T00:00:00Z"); d <= new Date(rep.to + "T00:00:00Z"); d.setUTCDate(d.getUTCDate() + 1))
    byDay.set(d.toISOString().slice(0, 10), 0);
  for (const r of rep.rows || []) byDay.set(r.day, (byDay.get(r.day) || 0) + r.departures);
  $("dep-range").textContent = `${rep.from} – ${rep.to} · total ${[...byDay.values()].reduce((a, b) => a + b, 0)}`;
  const days = [...byDay.keys()], vals = [...byDay.values()];
  const W = canvas.width, H = canvas.height, L = 36, B = 26, T = 10;
  const max = Math.max(4, ...vals);
  axes(ctx, L, T, W - 8, H - B, 0, max, "");
  const bw = (W - L - 8) / Math.max(1, days.length);
  days.forEach((d, i) => {
    const h = ((H - B - T) * vals[i]) / max;
    ctx.fillStyle = "#1f5fbf";
    ctx.fillRect(L + i * bw + bw * 0.15, H - B - h, bw * 0.7, h);
    ctx.fillStyle = "#17202b";
    if (vals[i]) ctx.fillText(String(vals[i]), L + i * bw + bw * 0.3, H - B - h - 3);
    ctx.fillStyle = "#5f6b7a";
    if (days.length <= 16 || i % Math.ceil(days.length / 16) === 0) ctx.fillText(d.slice(5), L + i * bw + 2, H - 8);
  });
}

function axes(ctx, x0, y0, x1, y1, min, max, unit) {
  ctx.strokeStyle = "#d7dde5";
  ctx.fillStyle = "#5f6b7a";
  for (let k = 0; k <= 4; k++) {
    const y = y1 - ((y1 - y0) * k) / 4;
    ctx.beginPath(); ctx.moveTo(x0, y); ctx.lineTo(x1, y); ctx.stroke();
    const v = min + ((max - min) * k) / 4;
    const label = max - min >= 8 ? Math.round(v) : Math.round(v * 10) / 10;
    ctx.fillText(`${label}${unit}`, 2, y + 4);
  }
}

function lineChart(canvas, labels, series, min, max, unit) {
  const ctx = setupCanvas(canvas);
  const W = canvas.width, H = canvas.height, L = 44, B = 22, T = 10;
  const all = series.flatMap((s) => s.values);
  if (!all.length) { ctx.fillStyle = "#5f6b7a"; ctx.fillText("no vehicles processed in this window yet", L, H / 2); return; }
  const hi = max ?? Math.max(1, ...all) * 1.1;
  axes(ctx, L, T, W - 8, H - B, min, hi, unit);
  const x = (i) => L + ((W - L - 12) * (labels.length === 1 ? 0.5 : i / (labels.length - 1)));
  const y = (v) => H - B - ((H - B - T) * (v - min)) / (hi - min);
  series.forEach((s, si) => {
    ctx.strokeStyle = s.color; ctx.fillStyle = s.color; ctx.lineWidth = 2;
    ctx.beginPath();
    s.values.forEach((v, i) => (i ? ctx.lineTo(x(i), y(v)) : ctx.moveTo(x(i), y(v))));
    ctx.stroke();
    s.values.forEach((v, i) => { ctx.beginPath(); ctx.arc(x(i), y(v), 2.5, 0, 7); ctx.fill(); });
    ctx.fillText(s.label, W - 60, T + 12 + si * 13);
  });
  ctx.lineWidth = 1;
  ctx.fillStyle = "#5f6b7a";
  const step = Math.ceil(labels.length / 8);
  labels.forEach((l, i) => { if (i % step === 0) ctx.fillText(l, x(i) - 14, H - 6); });
}

// ---- audit --------------------------------------------------------------------------------
$("audit-refresh").addEventListener("click", loadAudit);
$("audit-verify").addEventListener("click", async () => {
  try {
    const r = await api("/api/audit/verify");
    $("audit-verify-result").textContent = r.ok ? `✓ chain intact (${r.entries_checked} entries)` : `✗ broken at #${r.first_bad_seq}: ${r.problem}`;
  } catch (e) { toast(e.message, true); }
});
async function loadAudit() {
  const q = new URLSearchParams({ limit: 200 });
  const action = $("audit-action").value.trim();
  if (action) q.set("action", action);
  try {
    const { entries } = await api(`/api/audit?${q}`);
    $("audit-table").querySelector("tbody").replaceChildren(...entries.map((e) =>
      el("tr", { dataset: { action: e.action } }, el("td", { class: "num" }, e.seq), el("td", {}, fmtTime(e.time)), el("td", {}, e.actor),
        el("td", {}, e.action), el("td", {}, e.subject_ref), el("td", { class: "details" }, JSON.stringify(e.details)))));
  } catch (e) { toast(e.message, true); }
}

// ---- start --------------------------------------------------------------------------------
enter().catch(() => showLogin(""));
