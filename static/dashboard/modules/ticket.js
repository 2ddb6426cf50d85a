/*
 * The order ticket: one order (or a bracket) as `place_order` parameters. Enter in the symbol fetches a
 * quote; Preview asks the server for IB's what-if and the gateway's checks without placing anything;
 * Send runs `place_order` through `intent.run` (a confirmation first in LIVE mode).
 */

import { $, adminUrl, clock, confirmAction, el, num, on, request, runOutcome, state, watchRun, withAccount } from "./core.js";

export const NOT_SUPPORTED = "the server does not support this yet";
const SIZE_FIELDS = { shares: "quantity", cash: "notional", percent: "percent" };
// The price fields each order type needs (ids of the ticket's .ticket-field wrappers).
const TYPE_FIELDS = {
  "MKT": [], "LMT": ["limit"], "STP": ["stop"], "STP LMT": ["limit", "stop"], "TRAIL": ["trail"], "MOC": [], "LOC": ["limit"],
};
const PARAM_FIELD = { // a server error's field -> the ticket field it is shown at
  symbol: "symbol", sec_type: "symbol", exchange: "symbol", currency: "symbol", action: "side",
  quantity: "size", notional: "size", percent: "size", order_type: "type", limit_price: "limit", stop_price: "stop",
  trail_amount: "trail", trail_percent: "trail", tif: "tif", outside_rth: "tif", take_profit: "bracket", stop_loss: "bracket", strategy: "strategy",
};

const form = $("ticket");
const value = (id) => $(id).value.trim();
const number = (id) => (value(id) === "" ? undefined : Number(value(id)));
let dryRunTouched = false;

function showTypeFields() {
  const wanted = new Set(TYPE_FIELDS[$("ticket-type").value] || []);
  for (const field of form.querySelectorAll("[data-for-type]")) {
    const show = wanted.has(field.dataset.forType);
    field.hidden = !show;
    for (const input of field.querySelectorAll("input, select")) input.disabled = !show;
  }
  const bracket = $("ticket-bracket").checked;
  $("ticket-bracket-fields").hidden = !bracket;
  for (const input of $("ticket-bracket-fields").querySelectorAll("input")) input.disabled = !bracket;
  $("ticket-size").setAttribute("step", $("ticket-size-mode").value === "shares" ? "1" : "any");
}

/* The place_order parameters the ticket describes (snake_case; only what the order type needs). */
export function ticketParams() {
  const type = $("ticket-type").value;
  const fields = new Set(TYPE_FIELDS[type]);
  const params = {
    symbol: value("ticket-symbol").toUpperCase(),
    sec_type: $("ticket-sec-type").value,
    currency: value("ticket-currency").toUpperCase() || "USD",
    action: form.querySelector("input[name=side]:checked").value,
    [SIZE_FIELDS[$("ticket-size-mode").value]]: number("ticket-size"),
    order_type: type,
    tif: $("ticket-tif").value,
    outside_rth: $("ticket-outside-rth").checked,
    strategy: value("ticket-strategy") || "manual",
  };
  if (fields.has("limit")) params.limit_price = number("ticket-limit");
  if (fields.has("stop")) params.stop_price = number("ticket-stop");
  if (fields.has("trail")) params[$("ticket-trail-mode").value === "percent" ? "trail_percent" : "trail_amount"] = number("ticket-trail");
  if ($("ticket-bracket").checked) {
    params.take_profit = number("ticket-take-profit");
    params.stop_loss = number("ticket-stop-loss");
  }
  for (const [name, v] of Object.entries(params)) if (v === undefined) delete params[name];
  return params;
}

function describe(params) {
  const size = params.quantity !== undefined ? `${params.quantity}` : params.notional !== undefined ? `${params.notional} ${params.currency} of` : `${params.percent}% of NLV in`;
  const prices = [params.limit_price && `limit ${params.limit_price}`, params.stop_price && `stop ${params.stop_price}`,
    params.trail_amount && `trail ${params.trail_amount}`, params.trail_percent && `trail ${params.trail_percent}%`].filter(Boolean);
  const bracket = params.take_profit || params.stop_loss ? ` with take-profit ${params.take_profit ?? "—"} / stop-loss ${params.stop_loss ?? "—"}` : "";
  return `${params.action} ${size} ${params.symbol} ${params.order_type}${prices.length ? ` (${prices.join(", ")})` : ""} ${params.tif}${bracket}`;
}

// ----- what the ticket says back -------------------------------------------------------------------------

function clearErrors() {
  for (const error of form.querySelectorAll(".field-error")) error.textContent = "";
}

function showErrors(details) {
  for (const error of details || []) {
    const name = error.loc && error.loc[error.loc.length - 1];
    const field = form.querySelector(`[data-field="${PARAM_FIELD[name] || name}"] .field-error`);
    if (field) field.textContent = `${name}: ${error.msg}`;
  }
}

function say(text, isError, runId) {
  const box = $("ticket-message");
  box.replaceChildren(text);
  if (runId && state.user.is_staff) box.append(" ", el("a", { href: adminUrl("run", runId), text: "open in the admin" }));
  box.classList.toggle("error", !!isError);
  box.hidden = !text;
}

function refusal(result) {
  return result.error === "unknown_message" ? `${result.action || "this"}: ${NOT_SUPPORTED}.` : result.message || result.error;
}

let inFlight = false; // a preview or a send awaiting its answer: no second one meanwhile

function busy(on) {
  // aria-disabled, not disabled: a disabled button drops the keyboard focus to the page.
  inFlight = on;
  for (const id of ["ticket-preview-button", "ticket-send"]) $(id).setAttribute("aria-disabled", on ? "true" : "false");
}

// ----- quote ---------------------------------------------------------------------------------------------

async function fetchQuote() {
  const symbol = value("ticket-symbol").toUpperCase();
  const box = $("ticket-quote");
  if (!symbol) return;
  box.dataset.state = "loading";
  box.replaceChildren(`quote ${symbol}…`);
  const result = await request({ type: "order.quote", symbol, sec_type: $("ticket-sec-type").value, account: state.view.account });
  if (!result.ok) {
    box.dataset.state = "error";
    box.replaceChildren(refusal(result));
    return;
  }
  const q = result.quote || {};
  box.dataset.state = "ok";
  box.replaceChildren(el("strong", { text: q.symbol || symbol }),
    ...[["bid", q.bid], ["ask", q.ask], ["last", q.last]].map(([name, v]) =>
      el("span", { class: `quote-${name}` }, el("small", { text: name }), ` ${v === null || v === undefined ? "—" : num(v)}`)),
    el("small", { class: "muted", text: clock(q.time) }));
}

// ----- preview -------------------------------------------------------------------------------------------

function row(label, v) {
  return el("tr", {}, el("th", { scope: "row", text: label }), el("td", { class: "num", text: v === null || v === undefined || v === "" ? "—" : String(v) }));
}

function renderPreview(preview) {
  const box = $("ticket-preview");
  const whatIf = preview.what_if;
  const commission = whatIf ? [whatIf.commission, whatIf.min_commission, whatIf.max_commission] : [];
  const parts = [
    el("p", { class: `verdict ${preview.would_send ? "ok" : "refused"}`, text: preview.would_send ? "Would send" : "Would NOT send" }),
    el("table", { class: "compact" }, el("tbody", {},
      row("Quantity", num(preview.quantity)), row("Price used", num(preview.price_used)), row("Sizing", preview.sizing),
      ...(whatIf ? [
        row("Initial margin change", num(whatIf.init_margin_change, 2)),
        row("Maintenance margin change", num(whatIf.maint_margin_change, 2)),
        row("Equity with loan change", num(whatIf.equity_with_loan_change, 2)),
        row("Commission", commission[0] !== null && commission[0] !== undefined && commission[0] !== "" ? num(commission[0], 2)
          : commission[1] !== undefined && commission[1] !== null ? `${num(commission[1], 2)} – ${num(commission[2], 2)}` : ""),
      ] : [row("What-if", "not available")]))),
  ];
  if (whatIf && whatIf.warning) parts.push(el("p", { class: "warning", text: whatIf.warning }));
  if ((preview.orders || []).length) {
    parts.push(el("h3", { text: "Orders" }), el("ol", { class: "preview-orders" }, ...preview.orders.map((o) =>
      el("li", { text: [o.role, o.action, num(o.quantity), o.order_type, o.lmt_price ? `lmt ${num(o.lmt_price)}` : "",
        o.aux_price ? `aux ${num(o.aux_price)}` : "", o.tif].filter(Boolean).join(" ") }))));
  }
  parts.push(el("h3", { text: "Gateway checks" }), el("ul", { class: "checks" }, ...(preview.checks || []).map((c) =>
    el("li", { class: c.ok ? "ok" : "refused" }, el("span", { class: "check-verdict", text: c.ok ? "ok" : "refused" }),
      ` ${c.rule}`, c.message ? el("span", { class: "muted", text: ` — ${c.message}` }) : null))));
  box.replaceChildren(...parts);
  box.hidden = false;
}

async function preview() {
  if (inFlight) return;
  clearErrors();
  const params = ticketParams();
  $("ticket-preview").hidden = true;
  say(`previewing ${describe(params)}…`);
  busy(true);
  const result = await request({ type: "order.preview", params: withAccount(params) });
  busy(false);
  if (!result.ok) {
    say(refusal(result), true);
    showErrors(result.details);
    return;
  }
  say(result.message || "");
  renderPreview(result.preview || {});
}

// ----- send ----------------------------------------------------------------------------------------------

async function submit(event) {
  event.preventDefault();
  if (inFlight) return;
  clearErrors();
  const params = ticketParams();
  const dryRun = $("ticket-dry").checked;
  let confirmed = false;
  if (!dryRun && state.status.mode === "live") {
    confirmed = await confirmAction(`Send in LIVE mode, with real money: ${describe(params)}${state.view.account ? ` for ${state.view.account}` : ""}?`);
    if (!confirmed) return;
  }
  say(`sending ${describe(params)}${dryRun ? " (dry run)" : ""}…`);
  busy(true);
  const result = await request({ type: "intent.run", intent: "place_order", params: withAccount(params), dry_run: dryRun, confirmed });
  busy(false);
  if (!result.ok) {
    say(refusal(result), true);
    showErrors(result.details);
    return;
  }
  say(result.message, false, result.run.id);
  watchRun(result.run.id, (run) => say(runOutcome(run), run.status !== "succeeded", run.id));
}

// ----- wiring ----------------------------------------------------------------------------------------------

$("ticket-symbol").addEventListener("keydown", (event) => {
  if (event.key !== "Enter") return;
  event.preventDefault(); // Enter here asks for a quote, it does not send
  fetchQuote();
});
$("ticket-type").addEventListener("change", showTypeFields);
$("ticket-size-mode").addEventListener("change", showTypeFields);
$("ticket-bracket").addEventListener("change", showTypeFields);
$("ticket-dry").addEventListener("change", () => (dryRunTouched = true));
$("ticket-preview-button").addEventListener("click", preview);
form.addEventListener("submit", submit);
$("ticket-panel").addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !$("ticket-preview").hidden) $("ticket-preview").hidden = true;
});
on("snapshot", () => {
  if (!dryRunTouched) $("ticket-dry").checked = !!state.status.dry_run_default;
});
showTypeFields();
