/*
 * The intraday chart: net liquidation (left axis) and daily P&L (right axis) today, in the display zone.
 *
 * Its history is the worker's equity snapshots of today (the snapshot's `equity`), so it survives
 * reloads and restarts; live `account.value` NetLiquidation and `pnl.update` events extend it, at most
 * one point a second. Each point carries both series (the other's last value carried forward), so the
 * line has no gaps and the legend always has a number.
 */

import { $, LIMITS, on, onFrame, schedule } from "./core.js";
import { accountValue, pnlTotal } from "./account.js";
import { COLORS, axis, latestValue, padded, timeAxis, zoned } from "./charts.js";

const HEIGHT = 240;

const chart = {
  xs: [], netLiq: [], dailyPnl: [], plot: null, dirty: false, zone: "UTC", currency: "",

  last(series) {
    const values = this[series];
    return values.length ? values[values.length - 1] : null;
  },

  add(seconds, series, value) {
    const n = Number(value);
    if (!Number.isFinite(n)) return;
    const last = this.xs.length - 1;
    if (last >= 0 && seconds - this.xs[last] < 1) this[series][last] = n;
    else if (last >= 0 && seconds < this.xs[last]) return; // older than what is drawn: the history has it
    else {
      this.xs.push(seconds);
      this.netLiq.push(series === "netLiq" ? n : this.last("netLiq"));
      this.dailyPnl.push(series === "dailyPnl" ? n : this.last("dailyPnl"));
    }
    if (this.xs.length > LIMITS.chartPoints) [this.xs, this.netLiq, this.dailyPnl].forEach((a) => a.shift());
    this.dirty = true;
    schedule();
  },

  load(equity) {
    // A (re)snapshot: the recorded points, then what this page saw live since the newest of them.
    const points = equity.points || [];
    const newest = points.length ? points[points.length - 1][0] : -Infinity;
    const live = this.xs.map((x, i) => [x, this.netLiq[i], this.dailyPnl[i]]).filter((p) => p[0] > newest);
    const rows = [...points, ...live];
    this.xs = rows.map((r) => r[0]);
    this.netLiq = carried(rows.map((r) => r[1]));
    this.dailyPnl = carried(rows.map((r) => r[2]));
    if (equity.zone && equity.zone !== this.zone && this.plot) { this.plot.destroy(); this.plot = null; }
    this.zone = equity.zone || this.zone;
    this.currency = equity.currency || this.currency;
    this.dirty = true;
  },

  draw() {
    if (!this.xs.length || !window.uPlot) return;
    const data = [this.xs, this.netLiq, this.dailyPnl];
    if (this.plot) return this.plot.setData(data);
    const box = $("chart");
    box.replaceChildren();
    const money = this.currency ? ` (${this.currency})` : "";
    this.plot = new window.uPlot({
      width: box.clientWidth || 400,
      height: HEIGHT,
      tzDate: zoned(this.zone),
      scales: { x: { time: true }, nl: { range: padded }, pnl: { range: padded } },
      series: [
        { label: `Time (${this.zone})`, value: (u, v) => (v ? new Date(v * 1000).toLocaleTimeString(undefined, { timeZone: this.zone, hour12: false }) : "") },
        { label: "Net liquidation", scale: "nl", stroke: COLORS.blue, width: 2, spanGaps: true, value: latestValue(2) },
        { label: "Daily P&L", scale: "pnl", stroke: COLORS.green, width: 2, spanGaps: true, value: latestValue(2) },
      ],
      axes: [
        timeAxis(this.zone, `Time (${this.zone})`),
        axis({ scale: "nl", size: 90, label: `Net liquidation${money}` }),
        axis({ scale: "pnl", side: 1, size: 70, grid: { show: false }, label: `Daily P&L${money}` }),
      ],
    }, data, box);
  },

  resize() {
    if (this.plot) this.plot.setSize({ width: $("chart").clientWidth, height: HEIGHT });
  },
};
window.addEventListener("resize", () => chart.resize());

function carried(values) {
  let last = null;
  return values.map((v) => (v === null || v === undefined ? last : (last = v)));
}

on("snapshot", (p) => {
  chart.load(p.equity || {});
  const netLiq = accountValue("NetLiquidation"); // no snapshot recorded yet today: start from the account's figure
  if (netLiq && !chart.xs.length) chart.add(Date.now() / 1000, "netLiq", netLiq.value);
});
// account.js has applied the push already: the chart takes the figure over the accounts shown.
on("account.value", (p, e) => {
  const netLiq = accountValue("NetLiquidation");
  if (p.tag === "NetLiquidation" && p.currency !== "BASE" && netLiq) chart.add(Date.parse(e.time) / 1000, "netLiq", netLiq.value);
});
on("pnl.update", (p, e) => chart.add(Date.parse(e.time) / 1000, "dailyPnl", pnlTotal().daily_pnl));

onFrame(() => {
  if (chart.dirty) chart.draw();
  chart.dirty = false;
});
