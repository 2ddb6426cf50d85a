/* Fills: newest first, with the commission once IB reports it. */

import { $, LIMITS, clock, el, num, on, onFrame, state } from "./core.js";

let queued = [];

function addFill(fill) {
  state.fillIds.add(fill.id);
  queued.push(fill);
}

function renderFill(fill) {
  const list = $("fills");
  const text = `${fill.side} ${num(fill.shares)} ${fill.symbol} @ ${num(fill.price, 2)}`;
  const extra = fill.commission !== null && fill.commission !== undefined ? ` · commission ${num(fill.commission, 2)}` : "";
  const item = el("li", { "data-id": fill.id },
    el("time", { text: clock(fill.executed_at) }),
    el("span", { class: `side-${fill.side}`, text }),
    el("span", { class: "muted", text: extra + (fill.strategy ? ` · ${fill.strategy}` : "") }));
  const existing = list.querySelector(`li[data-id="${fill.id}"]`);
  if (existing) existing.replaceWith(item);
  else list.prepend(item);
  while (list.children.length > LIMITS.fills) list.lastElementChild.remove();
}

on("snapshot", (p) => {
  $("fills").replaceChildren();
  queued = [];
  [...p.fills].reverse().forEach(addFill);
});
on("fill.new", addFill);

onFrame(() => {
  queued.forEach(renderFill);
  queued = [];
});
