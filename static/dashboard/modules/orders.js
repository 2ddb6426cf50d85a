/*
 * Orders: every open order and the latest finished ones, newest first. Working orders have Modify
 * (inline: the quantity and price cells become inputs; Enter saves, Escape gives up) and Cancel.
 */

import {
  $, LIMITS, OPEN_STATUSES, confirmAction, el, flash, num, on, onFrame, request, runOutcome, schedule, send, state, watchRun,
} from "./core.js";
import { KeyedTable, linkCell, newestFirst } from "./table.js";

const HIGHLIGHT_LIMIT = 40; // rows changed in one frame above which changes are not highlighted
const LIMIT_TYPES = new Set(["LMT", "STP LMT", "LOC"]); // the price a modify changes is the limit price
const STOP_TYPES = new Set(["STP"]); // … or, without a limit, the stop price
export const NOT_SUPPORTED = "the server does not support this yet";

const dirty = new Set();
let editing = null; // {id} of the order being modified inline, at most one

const workable = (d) => OPEN_STATUSES.has(d.status) && d.status !== "PendingCancel" && d.order_id > 0;

const table = new KeyedTable($("orders").tBodies[0], [
  { build: linkCell("order", "id") },
  { text: (d) => (d.order_id ? String(d.order_id) : "") },
  { text: (d) => d.symbol },
  { text: (d) => d.action, cls: (d) => `side-${d.action}` },
  { build: editableCell("quantity", (d) => num(d.total_quantity)), className: "num" },
  { text: (d) => d.order_type },
  { build: editableCell("price", (d) => num(d.lmt_price)), className: "num" },
  { text: (d) => d.status, cls: (d) => `status status-${d.status}`, flash: true },
  { text: (d) => num(d.filled), className: "num", flash: true },
  { text: (d) => num(d.remaining), className: "num" },
  { text: (d) => (Number(d.avg_fill_price) ? num(d.avg_fill_price, 2) : ""), className: "num" },
  { text: (d) => d.strategy || "" },
  { build: linkCell("run", "run_id") },
  { build: actionsCell },
], { rowClass: (d) => (OPEN_STATUSES.has(d.status) ? "open" : "done"), position: newestFirst });

function priceField(d) {
  if (LIMIT_TYPES.has(d.order_type)) return "limit_price";
  if (STOP_TYPES.has(d.order_type)) return "stop_price";
  return null;
}

function editableCell(name, text) {
  return (td, d) => {
    const edit = editing && editing.id === d.id && (name === "quantity" || priceField(d));
    const input = td.querySelector("input");
    if (edit) {
      if (input) return;
      const id = `order-${d.id}-${name}`;
      const label = name === "quantity" ? `New quantity for order ${d.order_id}` : `New ${priceField(d).replace("_", " ")} for order ${d.order_id}`;
      const value = name === "quantity" ? d.total_quantity : d.lmt_price;
      td.replaceChildren(
        el("label", { for: id, class: "visually-hidden", text: label }),
        el("input", { type: "number", id, class: `edit-${name}`, step: "any", min: "0", value: value ? Number(value) : "", "data-order": d.id }));
      return;
    }
    const value = text(d);
    if (input || td.textContent !== value) td.textContent = value;
  };
}

function actionsCell(td, d) {
  const wanted = !workable(d) ? "" : editing && editing.id === d.id ? (editing.busy ? "saving" : "edit") : state.cancelling.has(d.id) ? "cancelling" : "idle";
  if (td.dataset.shows === wanted) return;
  td.dataset.shows = wanted;
  const order = `order ${d.order_id}`;
  if (wanted === "") td.replaceChildren();
  else if (wanted === "edit" || wanted === "saving") {
    td.replaceChildren(
      el("button", { type: "button", class: "save", text: wanted === "saving" ? "Saving…" : "Save", "data-order": d.id, disabled: wanted === "saving", "aria-label": `Save changes to ${order}` }),
      el("button", { type: "button", class: "back", text: "Back", "data-order": d.id, "aria-label": `Stop modifying ${order}` }));
  } else {
    const busy = wanted === "cancelling";
    td.replaceChildren(
      el("button", { type: "button", class: "modify", text: "Modify", "data-order": d.id, disabled: busy, "aria-label": `Modify ${order}` }),
      el("button", { type: "button", class: "cancel", text: busy ? "Cancelling…" : "Cancel", "data-order": d.id, disabled: busy }));
  }
}

function redraw(id) {
  dirty.add(id);
  schedule();
}

function updateOrderCount() {
  let open = 0;
  for (const order of state.orders.values()) if (OPEN_STATUSES.has(order.status)) open += 1;
  $("orders-count").textContent = `${open} open`;
}

function setOrder(order) {
  const merged = { ...state.orders.get(order.id), ...order };
  if (!OPEN_STATUSES.has(merged.status) || merged.status === "PendingCancel") state.cancelling.delete(order.id);
  if (editing && editing.id === order.id && !workable(merged)) editing = null; // it filled or went while being edited
  state.orders.set(order.id, merged);
  dirty.add(order.id);
}

function message(text, isError) {
  const box = $("orders-message");
  box.textContent = text;
  box.classList.toggle("error", !!isError);
  box.hidden = !text;
}

// ----- cancel ------------------------------------------------------------------------------------------

async function cancelOrder(id) {
  const order = state.orders.get(id);
  if (!order) return;
  let confirmed = false;
  if (state.status.mode === "live") {
    confirmed = await confirmAction(`Cancel order ${order.order_id}: ${order.action} ${num(order.total_quantity)} ${order.symbol}?`);
    if (!confirmed) return;
  }
  const release = () => {
    state.cancelling.delete(id);
    redraw(id);
  };
  state.cancelling.add(id);
  redraw(id);
  send({ type: "order.cancel", order: id, confirmed }, (result) => {
    flash(result.message, !result.ok);
    if (!result.ok) return release();
    watchRun(result.run.id, (run) => {
      if (run.status === "succeeded") return;
      release();
      flash(runOutcome(run), true);
    });
  });
}

// ----- inline modify -------------------------------------------------------------------------------------

function startEdit(id) {
  const previous = editing && editing.id;
  editing = { id, busy: false };
  if (previous) redraw(previous);
  message("");
  redraw(id);
  requestAnimationFrame(() => requestAnimationFrame(() => {
    const input = $(`order-${id}-price`) || $(`order-${id}-quantity`);
    if (input) input.focus();
  }));
}

function stopEdit(focusModify) {
  if (!editing) return;
  const id = editing.id;
  editing = null;
  redraw(id);
  if (focusModify) requestAnimationFrame(() => requestAnimationFrame(() => {
    const button = $("orders").querySelector(`button.modify[data-order="${id}"]`);
    if (button) button.focus();
  }));
}

async function saveEdit() {
  if (!editing || editing.busy) return;
  const id = editing.id;
  const order = state.orders.get(id);
  const quantity = $(`order-${id}-quantity`);
  const price = $(`order-${id}-price`);
  const change = { type: "order.modify", order: id };
  if (quantity && quantity.value !== "" && Number(quantity.value) !== Number(order.total_quantity)) change.quantity = Number(quantity.value);
  const field = priceField(order);
  if (price && field && price.value !== "" && Number(price.value) !== Number(order.lmt_price)) change[field] = Number(price.value);
  if (!("quantity" in change) && !("limit_price" in change) && !("stop_price" in change)) {
    message(`Order ${order.order_id}: nothing changed.`, true);
    return;
  }
  const what = [change.quantity !== undefined && `quantity ${change.quantity}`, change.limit_price !== undefined && `limit ${change.limit_price}`,
    change.stop_price !== undefined && `stop ${change.stop_price}`].filter(Boolean).join(", ");
  if (state.status.mode === "live") {
    change.confirmed = await confirmAction(`Modify order ${order.order_id} (${order.action} ${order.symbol}) to ${what} in LIVE mode?`);
    if (!change.confirmed) return;
  }
  editing.busy = true;
  redraw(id);
  message(`modifying order ${order.order_id}: ${what}…`);
  const result = await request(change);
  if (editing && editing.id === id) editing.busy = false;
  redraw(id);
  if (!result.ok) {
    message(result.error === "unknown_message" ? `Modify: ${NOT_SUPPORTED}.` : result.message, true);
    requestAnimationFrame(() => requestAnimationFrame(() => {
      const input = $(`order-${id}-price`) || $(`order-${id}-quantity`);
      if (input) input.focus(); // the Save button was disabled meanwhile: give the keyboard its place back
    }));
    return;
  }
  message(result.message);
  stopEdit(true);
  if (result.run) watchRun(result.run.id, (run) => message(runOutcome(run), run.status !== "succeeded"));
}

// ----- wiring ------------------------------------------------------------------------------------------

$("orders").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-order]");
  if (!button) return;
  const id = Number(button.dataset.order);
  if (button.classList.contains("cancel")) cancelOrder(id);
  else if (button.classList.contains("modify")) startEdit(id);
  else if (button.classList.contains("save")) saveEdit();
  else if (button.classList.contains("back")) stopEdit(true);
});

$("orders").addEventListener("keydown", (event) => {
  if (!editing || !event.target.closest("input[data-order], button.save, button.back")) return;
  if (event.key === "Escape") {
    event.preventDefault();
    stopEdit(true);
  } else if (event.key === "Enter" && event.target.matches("input")) {
    event.preventDefault();
    saveEdit();
  }
});

on("snapshot", (p) => {
  // A resync (or another account's snapshot) replaces the orders but keeps the rows it still shows, so
  // the keyboard focus and an inline edit in progress survive it; rows it no longer has are dropped.
  const fresh = new Set(p.orders.map((order) => order.id));
  for (const id of state.orders.keys()) if (!fresh.has(id)) dirty.add(id);
  for (const id of state.cancelling) if (!fresh.has(id)) state.cancelling.delete(id);
  if (editing && !fresh.has(editing.id)) editing = null;
  state.orders.clear();
  p.orders.forEach(setOrder);
});
on("order.status", setOrder);

onFrame(() => {
  // A burst repaints rows without the change highlight: hundreds of animations would cost more than the rows.
  table.highlight = dirty.size <= HIGHLIGHT_LIMIT;
  for (const id of dirty) table.render(id, state.orders.get(id));
  if (dirty.size) {
    table.trimDone(LIMITS.doneOrders).forEach((id) => state.orders.delete(id));
    updateOrderCount();
  }
  dirty.clear();
});
