/* The status bar: mode (LIVE is loud), socket, worker, gateway, and the kill switch and soft stop. */

import { $, clock, confirmAction, flash, on, onFrame, onSocketState, send, state } from "./core.js";

let dirty = false;

function setPill(id, level, text) {
  const pill = $(id);
  pill.dataset.state = level;
  pill.textContent = text;
}

function setSocketState(level, text) {
  setPill("socket-state", level, text);
  document.body.classList.toggle("stale", level !== "ok");
}

function renderStatus() {
  const status = state.status;
  const live = status.mode === "live";
  document.body.classList.toggle("mode-live", live);
  document.body.classList.toggle("mode-paper", !live);
  $("live-banner").hidden = !live;
  $("mode-badge").textContent = (status.mode || "?").toUpperCase();
  document.title = `${(status.mode || "").toUpperCase()} · Live dashboard · IB console`;

  const worker = status.worker || {};
  if (!worker.alive) setPill("worker-state", "bad", `worker down — ${worker.reason || "no heartbeat"}`);
  else if (!worker.connected) setPill("worker-state", "warn", "worker up, not connected to the gateway");
  else if (worker.mode && worker.mode !== status.mode) setPill("worker-state", "warn", `worker trades ${worker.mode}, console is ${status.mode}`);
  else setPill("worker-state", "ok", "worker connected");

  const gatewayState = worker.state || "unknown";
  const level = { connected: "ok", ib_link_down: "warn", connecting: "warn", syncing: "warn", starting: "warn" }[gatewayState] || "bad";
  const gateway = worker.gateway ? `gateway ${worker.gateway}` : "gateway";
  const label = gatewayState === "ib_link_down" ? "gateway lost IB" : gatewayState.replace(/_/g, " ");
  setPill("gateway-state", worker.alive ? level : "bad", `${gateway} · ${worker.alive ? label : "unknown"}`);

  renderSwitch("kill-switch", status.kill_switch, status.kill_switch_by, "Kill switch ON — trading disabled",
    "Trading enabled", "Release kill switch", "Engage kill switch");
  renderSwitch("soft-stop", status.soft_stop, status.soft_stop_by, "Soft stop ON — reduce only", "Soft stop off",
    "Turn soft stop off", "Turn soft stop on");
}

// A stop anywhere stops: `heldBy` names the settings rows holding the switch for the active mode.
function renderSwitch(id, on, heldBy, onLabel, offLabel, onAction, offAction) {
  const box = $(id);
  const rows = on ? (heldBy || []).join(" + ") : "";
  box.dataset.on = on ? "true" : "false";
  box.querySelector(".switch-label").textContent = on ? onLabel : offLabel;
  const held = box.querySelector(".switch-held");
  held.textContent = rows ? `held by ${rows}` : "";
  held.hidden = !rows;
  const button = box.querySelector("button");
  button.hidden = !state.user.is_staff;
  button.textContent = on ? onAction : offAction;
}

async function flipSwitch(name) {
  const on = name === "kill_switch" ? !state.status.kill_switch : !state.status.soft_stop;
  if (name === "kill_switch" && !on && state.status.mode === "live") {
    if (!(await confirmAction("Release the kill switch? Trading in LIVE mode resumes at once."))) return;
  }
  send({ type: "switch.set", switch: name, on }, (result) => flash(result.message, !result.ok));
}

onSocketState(setSocketState);
on("snapshot", () => {
  dirty = true;
  setSocketState("ok", `live · synced ${clock(new Date().toISOString())}`);
});
on("status", () => (dirty = true));
on("config.update", (p) => {
  state.status = { ...state.status, ...p };
  dirty = true;
});
on("worker.heartbeat", (p) => {
  state.status.worker = { ...state.status.worker, alive: true, connected: p.connected, state: p.state, gateway: p.gateway, reason: "" };
  dirty = true;
});
on("connection.state", (p) => {
  state.status.worker = { ...state.status.worker, connected: p.connected, state: p.state, gateway: p.gateway };
  dirty = true;
});

$("kill-switch").querySelector("button").addEventListener("click", () => flipSwitch("kill_switch"));
$("soft-stop").querySelector("button").addEventListener("click", () => flipSwitch("soft_stop"));

onFrame(() => {
  if (dirty) renderStatus();
  dirty = false;
});
