/*
 * What the dashboard's uPlot charts share: colours, axes with labels that never overlap, times in the
 * display zone, and a legend that shows the newest value (never "--") when the cursor is elsewhere.
 * uPlot is loaded as a classic script (window.uPlot).
 */

import { num } from "./core.js";

export const COLORS = { axis: "#8894a3", grid: "#2b3440", blue: "#4ea1ff", green: "#37c871", red: "#ff5a5a" };

export function axis(extra) {
  return {
    stroke: COLORS.axis, grid: { stroke: COLORS.grid }, ticks: { stroke: COLORS.grid },
    labelFont: "12px system-ui, sans-serif", font: "11px system-ui, sans-serif", labelSize: 18, ...extra,
  };
}

/* Hours and minutes in the zone, one label per ≥ 90 px: "10:32:15" labels a second apart overlapped. */
export function timeAxis(zone, label, dates) {
  const format = new Intl.DateTimeFormat(undefined, dates
    ? { timeZone: zone, month: "short", day: "numeric" }
    : { timeZone: zone, hour: "2-digit", minute: "2-digit", hour12: false });
  return axis({ label, space: 90, values: (u, splits) => splits.map((s) => format.format(new Date(s * 1000))) });
}

/* uPlot draws a time scale in the browser's zone unless told: every date goes through the display zone. */
export function zoned(zone) {
  return (seconds) => window.uPlot.tzDate(new Date(seconds * 1000), zone);
}

/* The legend's value: at the cursor, else the series' newest value (uPlot passes null there: "--"). */
export function latestValue(digits) {
  return (u, value, seriesIdx, idx) => {
    if (value === null || value === undefined) {
      if (idx !== null && idx !== undefined) return "—";
      const data = u.data[seriesIdx];
      for (let i = data.length - 1; i >= 0; i -= 1) if (data[i] !== null && data[i] !== undefined) return num(data[i], digits);
      return "—";
    }
    return num(value, digits);
  };
}

export function padded(u, min, max) {
  // Net liquidation moves by basis points: scale to the data, never to zero.
  if (min === null || max === null) return [0, 1];
  const pad = Math.max((max - min) * 0.1, Math.abs(max) * 0.0005, 1);
  return [min - pad, max + pad];
}

export function zoneTime(zone, seconds, options) {
  return new Intl.DateTimeFormat(undefined, { timeZone: zone, ...options }).format(new Date(seconds * 1000));
}
