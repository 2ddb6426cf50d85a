/* Account figures, P&L and cash per currency (the intraday chart is modules/intraday.js).

P&L on the card is IB's reqPnL stream only (the worker records it about once a second; `pnl.update`,
and `pnl` in the snapshot): never the account values' UnrealizedPnL, which IB refreshes on another clock
and which disagreed with the positions rows (those show reqPnLSingle). Each figure's age is shown. */

import { $, el, num, on, onFrame, schedule, signClass, state } from "./core.js";

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

on("snapshot", (p) => {
  state.account.clear();
  state.pnl = p.pnl || null;
  p.account_values.forEach(setAccountValue);
  dirty = true;
});
on("account.value", (p, e) => {
  setAccountValue({ ...p, updated_at: p.updated_at || e.time });
});
on("pnl.update", (p, e) => {
  state.pnl = { ...p, at: p.at || e.time };
  dirty = true;
});

setInterval(() => {
  // the ages move on even when no figure does
  dirty = true;
  schedule();
}, 1000);

onFrame(() => {
  if (dirty) renderAccount();
  dirty = false;
});
