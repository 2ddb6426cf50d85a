/* Account figures, P&L and cash per currency (the intraday chart is modules/intraday.js).

P&L on the card is IB's reqPnL stream only (the worker records it about once a second; `pnl.update`,
and `pnl` in the snapshot): never the account values' UnrealizedPnL, which IB refreshes on another clock
and which disagreed with the positions rows (those show reqPnLSingle). Each figure's age is shown.

Values arrive per account. Showing one account, the card is that account's; showing all of them, each
figure is the sum over the accounts in one currency (accounts in another currency are summed apart and
shown next to it, never converted), and P&L is the sum of the accounts' reqPnL (each in its base
currency, which a desk's accounts share). */

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

/* One account's value of `tag`: in its own currency rather than IB's BASE copy. */
function ownValue(values) {
  return values.find((v) => v.currency && v.currency !== "BASE") || values[0] || null;
}

/* The figure of `tag` over the accounts shown: the sum per currency, the currency most accounts
   report first. {value, currency, updated_at (the oldest of them), others: [{value, currency}]} or null. */
export function accountValue(tag) {
  const byAccount = new Map();
  for (const value of state.account.values()) {
    if (value.tag !== tag) continue;
    if (!byAccount.has(value.account)) byAccount.set(value.account, []);
    byAccount.get(value.account).push(value);
  }
  const byCurrency = new Map();
  for (const values of byAccount.values()) {
    const value = ownValue(values);
    const sum = byCurrency.get(value.currency) || { value: 0, currency: value.currency, updated_at: value.updated_at, accounts: 0 };
    sum.value += Number(value.value);
    sum.accounts += 1;
    if (value.updated_at && (!sum.updated_at || value.updated_at < sum.updated_at)) sum.updated_at = value.updated_at;
    byCurrency.set(value.currency, sum);
  }
  const sums = [...byCurrency.values()].sort((a, b) => b.accounts - a.accounts || a.currency.localeCompare(b.currency));
  if (!sums.length) return null;
  return { ...sums[0], others: sums.slice(1) };
}

/* The reqPnL figures over the accounts shown: one account's, or the sum of all of them. */
export function pnlTotal() {
  const all = [...state.pnl.values()];
  if (all.length <= 1) return all[0] || {};
  const total = { at: all.map((p) => p.at).filter(Boolean).sort()[0] };
  for (const name of ["daily_pnl", "unrealized_pnl", "realized_pnl"]) {
    const values = all.map((p) => p[name]).filter((v) => v !== null && v !== undefined && v !== "");
    total[name] = values.length ? values.reduce((sum, v) => sum + Number(v), 0) : null;
  }
  return total;
}

function setPnl(pnl) {
  state.pnl.set(pnl.account || "", pnl);
  dirty = true;
}

function setAccountValue(value) {
  if (value.tag.startsWith("PnL.")) return; // reqPnL's own record: the card takes it from `pnl`
  state.account.set(`${value.account}|${value.tag}|${value.currency}`, value);
  dirty = true;
}

function renderAccount() {
  const accounts = [...new Set([...state.account.values()].map((v) => v.account))].sort();
  $("account-name").textContent = state.view.account || (accounts.length > 1 ? `all accounts (${accounts.join(", ")})` : accounts.join(""));
  let valuesAt = null;
  for (const tag of ACCOUNT_FIGURES) {
    const value = accountValue(tag);
    const cell = document.querySelector(`[data-figure="${tag}"]`);
    const parts = value ? [value, ...value.others].map((v) => `${num(v.value, 2)} ${v.currency}`) : [];
    cell.textContent = parts.length ? parts.join(" + ") : "—";
    const summed = accounts.length > 1 ? `sum of ${accounts.length} accounts, ` : "";
    cell.title = value && value.updated_at ? `IB account value, ${summed}${age(value.updated_at)}` : "";
    if (value && value.updated_at && (!valuesAt || value.updated_at > valuesAt)) valuesAt = value.updated_at;
  }
  const pnl = pnlTotal();
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
  const cash = new Map(); // currency -> the balance summed over the accounts shown
  for (const v of state.account.values()) {
    if (v.tag === "CashBalance" && v.currency && v.currency !== "BASE") cash.set(v.currency, (cash.get(v.currency) || 0) + Number(v.value));
  }
  const rows = [...cash.entries()].sort((a, b) => a[0].localeCompare(b[0]));
  $("cash").tBodies[0].replaceChildren(...rows.map(([currency, value]) =>
    el("tr", {}, el("td", { text: currency }), el("td", { class: "num", text: num(value, 2) }))));
}

on("snapshot", (p) => {
  state.account.clear();
  (p.pnl_accounts || (p.pnl ? [p.pnl] : [])).forEach(setPnl);
  p.account_values.forEach(setAccountValue);
  dirty = true;
});
on("account.value", (p, e) => {
  setAccountValue({ ...p, updated_at: p.updated_at || e.time });
});
on("pnl.update", (p, e) => setPnl({ ...p, at: p.at || e.time }));

setInterval(() => {
  // the ages move on even when no figure does
  dirty = true;
  schedule();
}, 1000);

onFrame(() => {
  if (dirty) renderAccount();
  dirty = false;
});
