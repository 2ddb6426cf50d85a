/*
 * The performance page: the equity curve and the daily realized P&L bars (uPlot), the profit table and
 * the metrics for a range of days, read from GET /api/performance and /api/performance/equity.
 *
 * Its own entry point (no socket): it shares core.js's helpers and charts.js's axes with the live page.
 * Days are calendar days in the display zone (the server cuts them); the page only names the zone and
 * draws times in it.
 */

import { $, ACCOUNT_KEY, el, num, signClass, urls } from "./core.js";
import { COLORS, axis, latestValue, padded, timeAxis, zoneTime, zoned } from "./charts.js";

const ZONE = document.documentElement.dataset.zone;
const HEIGHT = 260;
const RANGE_DAYS = { "1w": 7, "1m": 30, "3m": 91, "1y": 365 };
const METRICS = [
  ["trades", "Round trips", (v) => num(v, 0)],
  ["win_rate", "Win rate", (v) => `${num(v * 100, 1)} %`],
  ["average_win", "Average win", (v) => num(v, 2)],
  ["average_loss", "Average loss", (v) => num(v, 2)],
  ["max_drawdown", "Max drawdown", (v) => num(v, 2)],
  ["max_drawdown_fraction", "Max drawdown %", (v) => `${num(v * 100, 2)} %`],
  ["sharpe", "Sharpe (annualised)", (v) => num(v, 2)],
  ["sortino", "Sortino (annualised)", (v) => num(v, 2)],
  ["days", "Days of returns", (v) => num(v, 0)],
];
const charts = { equity: null, daily: null };
let generation = 0; // each load's number: an answer to an older load (the controls changed since) is dropped

// ----- the range: days in the display zone -------------------------------------------------------

function today() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
}

function daysBefore(isoDay, days) {
  const date = new Date(`${isoDay}T12:00:00Z`);
  date.setUTCDate(date.getUTCDate() - days);
  return date.toISOString().slice(0, 10);
}

function rangeDates(key) {
  const until = today();
  if (key === "all") return { since: "", until };
  if (key === "ytd") return { since: `${until.slice(0, 4)}-01-01`, until };
  return { since: daysBefore(until, RANGE_DAYS[key] - 1), until };
}

function query() {
  const params = new URLSearchParams();
  for (const name of ["since", "until", "account"]) if ($(`perf-${name}`).value) params.set(name, $(`perf-${name}`).value);
  return params;
}

// The account the live page shows (its selector's choice, kept in localStorage), when this page lists it.
function accountFromLivePage() {
  let saved = "";
  try {
    saved = localStorage.getItem(ACCOUNT_KEY) || "";
  } catch {
    // storage refused: all accounts
  }
  const select = $("perf-account");
  if ([...select.options].some((option) => option.value === saved)) select.value = saved;
}

// ----- loading -------------------------------------------------------------------------------------

async function getJson(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
  if (response.status === 401) window.location.assign(`${urls.login}?next=${encodeURIComponent(window.location.pathname)}`);
  const body = await response.json();
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  return body;
}

async function load() {
  const mine = ++generation;
  document.body.dataset.loaded = "false";
  const message = $("perf-message");
  const range = query();
  const table = new URLSearchParams(range);
  table.set("period", $("perf-period").value);
  if ($("perf-strategy").value) table.set("strategy", $("perf-strategy").value);
  const daily = new URLSearchParams(table);
  daily.set("period", "day");
  try {
    const [report, days, equity, everyone] = await Promise.all([
      getJson(`${urls.performance}?${table}`),
      getJson(`${urls.performance}?${daily}`),
      getJson(`${urls.equity}?${range}`),
      getJson(`${urls.performance}?${range}`),
    ]);
    if (mine !== generation) return;
    message.hidden = true;
    strategiesOffer(everyone.periods);
    renderTable(report.periods);
    renderMetrics(report.metrics);
    drawEquity(equity);
    drawDaily(days.periods);
    document.body.dataset.loaded = "true";
  } catch (error) {
    if (mine !== generation) return;
    message.textContent = `Could not load the performance figures: ${error.message}`;
    message.className = "message error";
    message.hidden = false;
  }
}

// ----- table and metrics ----------------------------------------------------------------------------

function strategiesOffer(periods) {
  const select = $("perf-strategy");
  const chosen = select.value;
  const names = [...new Set(periods.map((p) => p.strategy))].sort();
  if (chosen && !names.includes(chosen)) names.push(chosen);
  select.replaceChildren(el("option", { value: "", text: "all" }), ...names.map((n) => el("option", { value: n, text: n })));
  select.value = chosen;
}

function moneyCell(value) {
  return el("td", { class: `num ${signClass(value)}`, text: num(value, 2) });
}

function renderTable(periods) {
  const rows = [...periods].reverse(); // newest first
  $("perf-table").tBodies[0].replaceChildren(...(rows.length ? rows.map((p) => el("tr", {},
    el("td", { text: p.start }), el("td", { text: p.strategy }), moneyCell(p.realized), moneyCell(p.unrealized),
    el("td", { class: "num", text: num(p.commission, 2) }), el("td", { class: "num", text: String(p.trades) }),
    el("td", { class: "num", text: String(p.wins) }), el("td", { class: "num", text: String(p.losses) }),
  )) : [el("tr", {}, el("td", { colspan: "8", class: "muted", text: "No closed trades or open positions in this range." }))]));
  const sum = (name) => periods.reduce((total, p) => total + p[name], 0);
  $("perf-table").tFoot.replaceChildren(el("tr", {},
    el("td", { text: "Total" }), el("td", {}), moneyCell(sum("realized")), moneyCell(sum("unrealized")),
    el("td", { class: "num", text: num(sum("commission"), 2) }), el("td", { class: "num", text: String(sum("trades")) }),
    el("td", { class: "num", text: String(sum("wins")) }), el("td", { class: "num", text: String(sum("losses")) })));
  $("table-note").textContent = `by ${$("perf-period").value}, ${rows.length} row(s)`;
}

function renderMetrics(metrics) {
  $("perf-metrics").replaceChildren(...METRICS.map(([key, label, format]) => {
    const value = metrics[key];
    return el("div", { "data-metric": key }, el("dt", { text: label }),
      el("dd", { class: key.startsWith("average") ? signClass(value) : "", text: value === null || value === undefined ? "—" : format(value) }));
  }));
}

// ----- charts ----------------------------------------------------------------------------------------

function replace(name, box, options, data) {
  if (charts[name]) charts[name].destroy();
  box.replaceChildren();
  charts[name] = new window.uPlot({ width: box.clientWidth || 600, height: HEIGHT, ...options }, data, box);
}

function empty(name, box, text) {
  if (charts[name]) { charts[name].destroy(); charts[name] = null; }
  box.replaceChildren(el("p", { class: "muted empty", text }));
}

function drawEquity(equity) {
  const box = $("equity-chart");
  const points = equity.t.length;
  $("equity-note").textContent = points
    ? `${points} point(s), ${zoneTime(ZONE, equity.t[0], { dateStyle: "medium" })} – ${zoneTime(ZONE, equity.t[points - 1], { dateStyle: "medium", timeStyle: "short" })} ${ZONE}`
    : "";
  if (!points) return empty("equity", box, "No equity snapshots in this range: the worker records one a minute while connected.");
  const spansDays = equity.t[points - 1] - equity.t[0] > 36 * 3600;
  const money = equity.currency ? ` (${equity.currency})` : "";
  replace("equity", box, {
    tzDate: zoned(ZONE),
    scales: { x: { time: true }, y: { range: padded } },
    series: [
      { label: `Time (${ZONE})`, value: (u, v) => (v ? zoneTime(ZONE, v, { dateStyle: "medium", timeStyle: "short" }) : "") },
      { label: `Net liquidation${money}`, stroke: COLORS.blue, width: 2, fill: "rgba(78,161,255,.08)", value: latestValue(2) },
    ],
    axes: [timeAxis(ZONE, `${spansDays ? "Day" : "Time"} (${ZONE})`, spansDays), axis({ size: 90, label: `Net liquidation${money}` })],
  }, [equity.t, equity.net_liquidation]);
}

function drawDaily(periods) {
  const box = $("daily-chart");
  const byDay = new Map();
  for (const p of periods) byDay.set(p.start, (byDay.get(p.start) || 0) + p.realized);
  const days = [...byDay.keys()].sort();
  if (!days.length) return empty("daily", box, "No realized P&L in this range.");
  const values = days.map((d) => byDay.get(d));
  // Gains and losses as two bar series: green and red bars, read at a glance.
  const bar = (label, color) => ({
    label, stroke: color, fill: color, width: 0, points: { show: false },
    paths: window.uPlot.paths.bars({ size: [0.6, 48], align: 0 }),
    value: (u, v) => (v === null || v === undefined ? "—" : num(v, 2)),
  });
  replace("daily", box, {
    scales: { x: { time: false, range: (u, min, max) => [min - 0.5, max + 0.5] } },
    series: [
      { label: `Day (${ZONE})`, value: (u, v) => (v === null || v === undefined ? "" : days[Math.round(v)] || "") },
      bar("Gain", COLORS.green),
      bar("Loss", COLORS.red),
    ],
    axes: [
      axis({ label: `Day (${ZONE})`, space: 80, incrs: [1, 2, 5, 7, 14, 30, 61, 91],
             values: (u, splits) => splits.map((i) => (Number.isInteger(i) ? days[i] || "" : "")) }),
      axis({ size: 80, label: "Realized P&L" }),
    ],
  }, [days.map((_, i) => i), values.map((v) => (v >= 0 ? v : null)), values.map((v) => (v < 0 ? v : null))]);
}

// ----- controls --------------------------------------------------------------------------------------

function applyRange(key) {
  const { since, until } = rangeDates(key);
  $("perf-since").value = since;
  $("perf-until").value = until;
}

$("perf-controls").addEventListener("change", (event) => {
  if (event.target.name === "range") applyRange(event.target.value);
  else if (event.target.type === "date") document.querySelectorAll("input[name=range]").forEach((r) => { r.checked = false; });
  load();
});
window.addEventListener("resize", () => {
  for (const [name, box] of [["equity", "equity-chart"], ["daily", "daily-chart"]]) {
    if (charts[name]) charts[name].setSize({ width: $(box).clientWidth, height: HEIGHT });
  }
});

accountFromLivePage();
applyRange(document.querySelector("input[name=range]:checked").value);
load();
