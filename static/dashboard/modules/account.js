/* Account figures, P&L, cash per currency, and the intraday chart (uPlot, loaded as a classic script).

P&L on the card is IB's reqPnL stream only (the worker records it about once a second; `pnl.update`,
and `pnl` in the snapshot): never the account values' UnrealizedPnL, which IB refreshes on another clock
and which disagreed with the positions rows (those show reqPnLSingle). Each figure's age is shown. */

import { $, LIMITS, el, num, on, onFrame, schedule, signClass, state } from "./core.js";

const ACCOUNT_FIGURES = ["NetLiquidation", "AvailableFunds", "BuyingPower", "ExcessLiquidity"];
let dirty = false;

function age(iso) {
  // "3 s ago" from an ISO time; the card says how old each figure is, as IB produced it.
  const ms = Date.now() - Date.parse(iso);
  if (!Number.isFinite(ms)) return "";
  const s = Math.max(0, Math.round(ms / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

function ageLine() {
  // One line under the figures (created here, so the shared template stays as it is).
  let line = document.getElementById("account-age");
  if (!line) {
    line = el("p", { class: "muted age", id: "account-age" });
    $("account-figures").after(line);
  }
  return line;
}

export function accountValue(tag) {
  let fallback = null;
  for (const value of state.account.values()) {
    if (value.tag !== tag) continue;
    if (value.currency && value.currency !== "BASE") return value;
    fallback = value;
  }
  return fallback;
}

function setAccountValue(value) {
  if (value.tag.startsWith("PnL.")) return; // reqPnL's own record: the card takes it from `pnl`
  state.account.set(`${value.account}|${value.tag}|${value.currency}`, value);
  dirty = true;
}

function renderAccount() {
  const accounts = new Set([...state.account.values()].map((v) => v.account));
  $("account-name").textContent = [...accounts].join(", ");
  let valuesAt = null;
  for (const tag of ACCOUNT_FIGURES) {
    const value = accountValue(tag);
    const cell = document.querySelector(`[data-figure="${tag}"]`);
    cell.textContent = value ? `${num(value.value, 2)} ${value.currency}` : "—";
    cell.title = value && value.updated_at ? `IB account value, ${age(value.updated_at)}` : "";
    if (value && value.updated_at && (!valuesAt || value.updated_at > valuesAt)) valuesAt = value.updated_at;
  }
  const pnl = state.pnl || {};
  for (const name of ["daily_pnl", "unrealized_pnl", "realized_pnl"]) {
    const value = pnl[name];
    const cell = document.querySelector(`[data-figure="${name}"]`);
    cell.textContent = value === null || value === undefined ? "—" : num(value, 2);
    cell.className = `pnl ${signClass(value)}`;
    cell.title = pnl.at ? `IB reqPnL, ${age(pnl.at)}` : "";
  }
  ageLine().textContent = [
    pnl.at ? `P&L (IB reqPnL) ${age(pnl.at)}` : "P&L: none from IB yet",
    valuesAt ? `account values ${age(valuesAt)}` : "",
  ].filter(Boolean).join(" · ");
  const cash = [...state.account.values()].filter((v) => v.tag === "CashBalance" && v.currency && v.currency !== "BASE");
  cash.sort((a, b) => a.currency.localeCompare(b.currency));
  $("cash").tBodies[0].replaceChildren(...cash.map((v) =>
    el("tr", {}, el("td", { text: v.currency }), el("td", { class: "num", text: num(v.value, 2) }))));
}

function padded(u, min, max) {
  // Net liquidation moves by basis points: scale to the data, never to zero.
  if (min === null || max === null) return [0, 1];
  const pad = Math.max((max - min) * 0.1, Math.abs(max) * 0.0005, 1);
  return [min - pad, max + pad];
}

const chart = {
  xs: [], netLiq: [], dailyPnl: [], plot: null, dirty: false,

  add(seconds, series, value) {
    const n = Number(value);
    if (!Number.isFinite(n)) return;
    const last = this.xs.length - 1;
    // One point a second at most: a busy stream updates the newest point instead of adding one.
    if (last >= 0 && seconds - this.xs[last] < 1) this[series][last] = n;
    else {
      this.xs.push(seconds);
      this.netLiq.push(series === "netLiq" ? n : null);
      this.dailyPnl.push(series === "dailyPnl" ? n : null);
    }
    if (this.xs.length > LIMITS.chartPoints) [this.xs, this.netLiq, this.dailyPnl].forEach((a) => a.shift());
    this.dirty = true;
    schedule();
  },

  merge(points) {
    // A resync keeps what this page saw live and adds the server's history it did not have.
    const seen = new Set(this.xs.map(Math.round));
    const rows = this.xs.map((x, i) => [x, this.netLiq[i], this.dailyPnl[i]]);
    for (const [x, value] of points) if (!seen.has(Math.round(x))) rows.push([x, value, null]);
    rows.sort((a, b) => a[0] - b[0]);
    this.xs = rows.map((r) => r[0]);
    this.netLiq = rows.map((r) => r[1]);
    this.dailyPnl = rows.map((r) => r[2]);
    this.dirty = true;
  },

  draw() {
    if (!this.xs.length || !window.uPlot) return;
    const data = [this.xs, this.netLiq, this.dailyPnl];
    if (this.plot) return this.plot.setData(data);
    const box = $("chart");
    box.replaceChildren();
    const axis = { stroke: "#8894a3", grid: { stroke: "#2b3440" }, ticks: { stroke: "#2b3440" } };
    this.plot = new window.uPlot({
      width: box.clientWidth || 400,
      height: 220,
      scales: { x: { time: true }, nl: { range: padded }, pnl: { range: padded } },
      series: [
        {},
        { label: "Net liquidation", scale: "nl", stroke: "#4ea1ff", width: 2, spanGaps: true, value: (u, v) => num(v, 2) },
        { label: "Daily P&L", scale: "pnl", stroke: "#37c871", width: 2, spanGaps: true, value: (u, v) => num(v, 2) },
      ],
      axes: [axis, { ...axis, scale: "nl", size: 90 }, { ...axis, scale: "pnl", side: 1, size: 60, grid: { show: false } }],
    }, data, box);
  },

  resize() {
    if (this.plot) this.plot.setSize({ width: $("chart").clientWidth, height: 220 });
  },
};
window.addEventListener("resize", () => chart.resize());

on("snapshot", (p) => {
  state.account.clear();
  state.pnl = p.pnl || null;
  p.account_values.forEach(setAccountValue);
  chart.merge(p.net_liquidation);
  const netLiq = accountValue("NetLiquidation");
  if (netLiq && !p.net_liquidation.length) chart.add(Date.now() / 1000, "netLiq", netLiq.value);
  dirty = true;
});
on("account.value", (p, e) => {
  setAccountValue({ ...p, updated_at: p.updated_at || e.time });
  if (p.tag === "NetLiquidation" && p.currency !== "BASE") chart.add(Date.parse(e.time) / 1000, "netLiq", p.value);
});
on("pnl.update", (p, e) => {
  state.pnl = { ...p, at: p.at || e.time };
  dirty = true;
  chart.add(Date.parse(e.time) / 1000, "dailyPnl", p.daily_pnl);
});

setInterval(() => {
  // the ages move on even when no figure does
  dirty = true;
  schedule();
}, 1000);

onFrame(() => {
  if (dirty) renderAccount();
  if (chart.dirty) chart.draw();
  dirty = chart.dirty = false;
});
