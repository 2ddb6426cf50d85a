/* Run an intent: a form generated from the intent's parameter JSON schema; dry run by default. */

import { $, adminUrl, confirmAction, el, on, runOutcome, send, state, watchRun, withAccount } from "./core.js";

function resolveSchema(schema, defs) {
  if (schema.$ref) return resolveSchema(defs[schema.$ref.split("/").pop()] || {}, defs);
  const options = schema.anyOf || schema.oneOf;
  if (options) {
    const real = options.filter((s) => s.type !== "null");
    const inner = real.length === 1 ? resolveSchema(real[0], defs) : { type: "json" };
    return { ...inner, title: schema.title || inner.title, description: schema.description || inner.description, default: schema.default };
  }
  return schema;
}

function buildField(name, schema, required) {
  const id = `param-${name}`;
  const label = humanize(name);
  const hint = [schema.description, required ? "required" : ""].filter(Boolean).join(" — ");
  let input;
  let kind = schema.type;
  if (kind === "boolean") {
    input = el("input", { type: "checkbox", id, checked: schema.default === true });
  } else if (kind === "integer" || kind === "number") {
    const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + (kind === "integer" ? 1 : 0) : undefined);
    input = el("input", { type: "number", id, step: kind === "integer" ? "1" : "any", min, max: schema.maximum, value: schema.default ?? "" });
  } else if (kind === "string" && schema.enum) {
    input = el("select", { id }, required ? null : el("option", { value: "", text: "—" }),
      ...schema.enum.map((v) => el("option", { value: v, text: v, selected: v === schema.default })));
  } else if (kind === "string") {
    input = el("input", { type: "text", id, value: schema.default ?? "" });
  } else if (kind === "array" && schema.items && ["string", "integer", "number"].includes(schema.items.type)) {
    kind = `array-${schema.items.type}`;
    input = el("input", { type: "text", id, placeholder: "comma-separated", value: (schema.default || []).join(", ") });
  } else {
    kind = "json";
    input = el("textarea", { id, rows: 3, placeholder: "JSON" }, schema.default !== undefined ? JSON.stringify(schema.default) : "");
  }
  const field = el("label", { class: "field", "data-param": name, "data-kind": kind, "data-required": required ? "true" : null },
    kind === "boolean" ? input : `${label} `, kind === "boolean" ? ` ${label}` : input,
    el("small", { text: hint }), el("small", { class: "field-error" }));
  return field;
}

function humanize(name) {
  // orderId, limit_price -> "Order id", "Limit price" (pydantic's titles read "Orderid").
  const words = name.replace(/_/g, " ").replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function readField(field) {
  const input = field.querySelector("input, select, textarea");
  const kind = field.dataset.kind;
  if (kind === "boolean") return input.checked;
  const raw = input.value.trim();
  if (raw === "") return undefined;
  if (kind === "integer" || kind === "number") return Number.isFinite(Number(raw)) ? Number(raw) : raw;
  if (kind.startsWith("array-")) {
    const items = raw.split(/[\s,]+/).filter(Boolean);
    return kind === "array-string" ? items : items.map((v) => (Number.isFinite(Number(v)) ? Number(v) : v));
  }
  if (kind === "json") {
    try { return JSON.parse(raw); } catch (e) { return raw; }
  }
  return raw;
}

function renderRunForm() {
  const select = $("run-intent");
  const names = state.intents.map((i) => i.name);
  const current = select.value;
  if (select.dataset.names !== names.join(",")) {
    select.dataset.names = names.join(",");
    select.replaceChildren(...names.map((n) => el("option", { value: n, text: n })));
    select.value = names.includes(current) ? current : names.includes("summary") ? "summary" : names[0] || "";
    renderRunFields();
  }
}

function renderRunFields() {
  const intent = state.intents.find((i) => i.name === $("run-intent").value);
  const box = $("run-fields");
  box.replaceChildren();
  if (!intent) return;
  const description = [intent.description, intent.places_orders ? "Places orders." : "", intent.allowed_when_killed ? "Allowed while the kill switch is on." : ""];
  $("run-description").textContent = description.filter(Boolean).join(" ");
  const schema = intent.params || {};
  const required = new Set(schema.required || []);
  const properties = Object.entries(schema.properties || {});
  if (!properties.length) box.append(el("p", { class: "muted", text: "No parameters." }));
  for (const [name, property] of properties) box.append(buildField(name, resolveSchema(property, schema.$defs || {}), required.has(name)));
}

function showRunMessage(text, isError, runId) {
  const box = $("run-message");
  box.replaceChildren(text);
  if (runId && state.user.is_staff) box.append(" ", el("a", { href: adminUrl("run", runId), text: "open in the admin" }));
  box.classList.toggle("error", !!isError);
  box.hidden = false;
}

async function submitRun(event) {
  event.preventDefault();
  const intent = $("run-intent").value;
  const dryRun = $("run-dry").checked;
  const params = {};
  for (const field of $("run-fields").querySelectorAll(".field")) {
    field.querySelector(".field-error").textContent = "";
    const value = readField(field);
    if (value !== undefined) params[field.dataset.param] = value;
  }
  let confirmed = false;
  if (!dryRun && state.status.mode === "live") {
    confirmed = await confirmAction(`Run ${intent} for real in LIVE mode? Orders it places use real money.`);
    if (!confirmed) return;
  }
  $("run-submit").disabled = true;
  showRunMessage(`submitting ${intent}${dryRun ? " (dry run)" : ""}…`);
  send({ type: "intent.run", intent, params: withAccount(params), dry_run: dryRun, confirmed }, (result) => {
    $("run-submit").disabled = false;
    if (result.ok) {
      showRunMessage(result.message, false, result.run.id);
      watchRun(result.run.id, (run) => showRunMessage(runOutcome(run), run.status !== "succeeded", run.id));
      return;
    }
    showRunMessage(result.message, true);
    for (const error of result.details || []) {
      const field = $("run-fields").querySelector(`[data-param="${error.loc && error.loc[0]}"] .field-error`);
      if (field) field.textContent = error.msg;
    }
  });
}

on("snapshot", renderRunForm);
$("run-intent").addEventListener("change", renderRunFields);
$("run-form").addEventListener("submit", submitRun);
