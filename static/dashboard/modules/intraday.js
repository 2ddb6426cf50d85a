/* The intraday chart: net liquidation and daily P&L (uPlot, loaded as a classic script). */

import { $, LIMITS, num, on, onFrame, schedule } from "./core.js";
import { accountValue } from "./account.js";

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
  chart.merge(p.net_liquidation);
  const netLiq = accountValue("NetLiquidation");
  if (netLiq && !p.net_liquidation.length) chart.add(Date.now() / 1000, "netLiq", netLiq.value);
});
on("account.value", (p, e) => {
  if (p.tag === "NetLiquidation" && p.currency !== "BASE") chart.add(Date.parse(e.time) / 1000, "netLiq", p.value);
});
on("pnl.update", (p, e) => chart.add(Date.parse(e.time) / 1000, "dailyPnl", p.daily_pnl));

onFrame(() => {
  if (chart.dirty) chart.draw();
  chart.dirty = false;
});
