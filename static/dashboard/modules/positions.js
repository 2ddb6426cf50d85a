/* Positions: quantity, average cost, market price and value, unrealized P&L; keyed by account and contract.

Market value and unrealized P&L are IB's reqPnLSingle stream for the position (the worker records it
on the row about once a second, `updated_at`): the same source, at the same moment, as the account
card's reqPnL, so the rows add up to the card. */

import { $, clock, num, on, onFrame, signClass, state } from "./core.js";
import { KeyedTable } from "./table.js";

const dirty = new Set();

const table = new KeyedTable($("positions").tBodies[0], [
  { text: (d) => d.symbol },
  { text: (d) => d.sec_type },
  { text: (d) => num(d.quantity), className: "num", flash: true },
  { text: (d) => num(d.avg_cost, 2), className: "num" },
  { text: (d) => num(d.market_price, 2), className: "num" },
  { text: (d) => num(d.market_value, 2), className: "num" },
  {
    build: (td, d) => {
      const text = num(d.unrealized_pnl, 2);
      if (td.textContent !== text) td.textContent = text;
      td.className = ["num", signClass(d.unrealized_pnl)].filter(Boolean).join(" ");
      td.title = d.updated_at ? `IB reqPnLSingle, as of ${clock(d.updated_at)}` : "";
    },
  },
  { text: (d) => d.account },
], {
  position: (d, t) => {
    for (const row of t.tbody.rows) if (row.firstChild.textContent > d.symbol) return row;
    return null;
  },
});

function setPosition(position) {
  const key = `${position.account}:${position.con_id}`;
  if (Number(position.quantity) === 0) state.positions.delete(key);
  else state.positions.set(key, { ...state.positions.get(key), ...position });
  dirty.add(key);
}

on("snapshot", (p) => {
  state.positions.clear();
  table.clear();
  dirty.clear();
  p.positions.forEach(setPosition);
});
on("position.update", setPosition);

onFrame(() => {
  for (const key of dirty) table.render(key, state.positions.get(key));
  dirty.clear();
});
