/* Account figures, P&L and cash per currency (the intraday chart is modules/intraday.js). */

import { $, el, num, on, onFrame, signClass, state } from "./core.js";

const ACCOUNT_FIGURES = ["NetLiquidation", "AvailableFunds", "BuyingPower", "ExcessLiquidity"];
let dirty = false;

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
  state.account.set(`${value.account}|${value.tag}|${value.currency}`, value);
  dirty = true;
}

function renderAccount() {
  const accounts = new Set([...state.account.values()].map((v) => v.account));
  $("account-name").textContent = [...accounts].join(", ");
  for (const tag of ACCOUNT_FIGURES) {
    const value = accountValue(tag);
    document.querySelector(`[data-figure="${tag}"]`).textContent = value ? `${num(value.value, 2)} ${value.currency}` : "—";
  }
  const pnl = state.pnl || {};
  const fallbacks = { daily_pnl: null, unrealized_pnl: accountValue("UnrealizedPnL"), realized_pnl: accountValue("RealizedPnL") };
  for (const [name, fallback] of Object.entries(fallbacks)) {
    const value = pnl[name] !== undefined && pnl[name] !== null ? pnl[name] : fallback && fallback.value;
    const cell = document.querySelector(`[data-figure="${name}"]`);
    cell.textContent = value === null || value === undefined ? "—" : num(value, 2);
    cell.className = `pnl ${signClass(value)}`;
  }
  const cash = [...state.account.values()].filter((v) => v.tag === "CashBalance" && v.currency && v.currency !== "BASE");
  cash.sort((a, b) => a.currency.localeCompare(b.currency));
  $("cash").tBodies[0].replaceChildren(...cash.map((v) =>
    el("tr", {}, el("td", { text: v.currency }), el("td", { class: "num", text: num(v.value, 2) }))));
}

on("snapshot", (p) => {
  state.account.clear();
  p.account_values.forEach(setAccountValue);
  dirty = true;
});
on("account.value", (p) => setAccountValue(p));
on("pnl.update", (p) => {
  state.pnl = p;
  dirty = true;
});

onFrame(() => {
  if (dirty) renderAccount();
  dirty = false;
});
