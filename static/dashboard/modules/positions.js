/* Positions: quantity, average cost, market price and value, unrealized P&L; keyed by account and contract. */

import { $, num, on, onFrame, signClass, state } from "./core.js";
import { KeyedTable } from "./table.js";

const dirty = new Set();

const table = new KeyedTable($("positions").tBodies[0], [
  { text: (d) => d.symbol },
  { text: (d) => d.sec_type },
  { text: (d) => num(d.quantity), className: "num", flash: true },
  { text: (d) => num(d.avg_cost, 2), className: "num" },
  { text: (d) => num(d.market_price, 2), className: "num" },
  { text: (d) => num(d.market_value, 2), className: "num" },
  { text: (d) => num(d.unrealized_pnl, 2), className: "num", cls: (d) => signClass(d.unrealized_pnl) },
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
