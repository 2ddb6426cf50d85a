/*
 * The dashboard's core: shared state, small DOM helpers, the once-per-frame redraw, and the socket
 * (connect, reconnect with backoff, request ids, `send`, `request`, `on(type, fn)` dispatch).
 *
 * Panels import from here and register what they draw (`onFrame`) and what they handle (`on`); the
 * core knows no panel. Protocol: docs/DASHBOARD.md.
 */

export const urls = JSON.parse(document.getElementById("dashboard-urls").textContent);
export const $ = (id) => document.getElementById(id);

export const OPEN_STATUSES = new Set(["PendingSubmit", "ApiPending", "PreSubmitted", "Submitted", "PendingCancel"]);
export const FINAL_RUN_STATUSES = new Set(["succeeded", "failed", "expired", "interrupted", "partial"]); // RunStatus.final_values()
export const LIMITS = { doneOrders: 100, fills: 100, runs: 50, activity: 200, chartPoints: 5000 };
const MODE_SCOPED = new Set(["order.status", "fill.new", "position.update", "account.value", "pnl.update", "activity.new"]);
const STATUS_POLL_MS = 5000;
const RESYNC_MIN_MS = 1000;
export const ACCOUNT_KEY = "dashboard.account"; // localStorage: the account the page shows

export const state = {
  user: { username: "", is_staff: false },
  status: { mode: document.documentElement.dataset.mode, worker: {} },
  orders: new Map(),
  positions: new Map(),
  runs: new Map(),
  account: new Map(),
  pnl: new Map(), // account -> its reqPnL figures (the card sums them in the all-accounts view)
  intents: [],
  activityMax: 0,
  handlerProblems: 0,
  cancelling: new Set(),
  watched: new Map(), // run id -> what to do when it ends (the run form's message, a cancel button)
  fillIds: new Set(),
  suspects: new Set(), // differences from the server's digest seen at the last status poll
  sequence: { epoch: null, last: 0 }, // the worker numbers its pushes: a gap is a lost one
  resyncing: false,
  // The account the page shows ("": all of them, summed where they can be) and the ones it may show.
  view: { account: savedAccount(), accounts: [] },
};

// ----- small helpers ----------------------------------------------------------------------------

export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

const formats = new Map(); // one Intl formatter per precision: creating one per call is slow
export function num(value, digits) {
  if (value === null || value === undefined || value === "") return "";
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (!formats.has(digits)) {
    const options = digits === undefined ? { maximumFractionDigits: 4 } : { minimumFractionDigits: digits, maximumFractionDigits: digits };
    formats.set(digits, new Intl.NumberFormat(undefined, options));
  }
  return formats.get(digits).format(n);
}

export function signClass(value) {
  const n = Number(value);
  return !value || !Number.isFinite(n) || n === 0 ? "" : n > 0 ? "pos" : "neg";
}

/* Times are shown in the console's display zone (the server names it: the page's data-time-zone, then
   every snapshot and status), never the browser's, with the zone's abbreviation: "14:03:22 EST". */
let timeFormat = null;
export function setTimeZone(zone) {
  if (!zone || (timeFormat && timeFormat.resolvedOptions().timeZone === zone)) return;
  try {
    timeFormat = new Intl.DateTimeFormat(undefined, {
      timeZone: zone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23", timeZoneName: "short",
    });
  } catch (error) {
    return; // a zone this browser does not know: keep the last one
  }
  document.documentElement.dataset.timeZone = zone;
  const label = $("time-zone");
  if (label) label.textContent = `${zone} (${zoneAbbreviation(new Date())})`;
}
setTimeZone(document.documentElement.dataset.timeZone || "UTC");

export function displayZone() {
  return timeFormat.resolvedOptions().timeZone;
}

function zoneAbbreviation(date) {
  return timeFormat.formatToParts(date).find((part) => part.type === "timeZoneName")?.value || "";
}

export function clock(iso) {
  if (!iso) return "";
  return timeFormat.format(new Date(iso));
}

export function adminUrl(kind, id) {
  return urls[kind].replace(urls.placeholder, String(id));
}

function requestId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  return `r${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
}

let flashTimer = 0;
export function flash(message, isError) {
  const box = $("flash");
  box.textContent = message;
  box.classList.toggle("error", !!isError);
  box.hidden = false;
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => (box.hidden = true), isError ? 12000 : 6000);
}

export function confirmAction(text) {
  const dialog = $("confirm");
  $("confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true }));
}

/* Call `fn(run)` once the run ends. A run can end before its submit is answered (a dry run takes
   milliseconds): then its final update is already in state.runs and `fn` runs at once. */
export function watchRun(id, fn) {
  const run = state.runs.get(id);
  if (run && FINAL_RUN_STATUSES.has(run.status)) fn(run);
  else state.watched.set(id, fn);
}

export function runOutcome(run) {
  const label = `run #${run.id} ${run.intent}${run.dry_run ? " (dry run)" : ""}`;
  return run.status === "succeeded" ? `${label} succeeded` : `${label} ${run.status}: ${run.error || "see the run in the admin"}`;
}

// ----- redraw batching: state changes now, the DOM once per frame --------------------------------

export const stats = (window.dashboardStats = { messages: 0, frames: 0, snapshots: 0, resyncs: 0, slowestFrameMs: 0 }); // for tests and the curious
const painters = []; // each panel's redraw, called in registration order once per frame
let frame = 0;

export function onFrame(paint) {
  painters.push(paint);
}

export function schedule() {
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
  frame = 0;
  stats.frames += 1;
  const started = performance.now();
  for (const paint of painters) paint();
  stats.slowestFrameMs = Math.max(stats.slowestFrameMs, performance.now() - started);
}

// ----- message dispatch: any number of handlers per type -----------------------------------------

const handlers = new Map();

export function on(type, fn) {
  if (!handlers.has(type)) handlers.set(type, []);
  handlers.get(type).push(fn);
}

function checkSequence(message) {
  const sequence = state.sequence;
  if (message.seq === undefined) return; // not the worker's (a dashboard action's broadcast)
  if (message.epoch !== sequence.epoch) {
    sequence.epoch = message.epoch; // a new worker run numbers from 1 again
  } else if (message.seq > sequence.last + 1) {
    resync();
  }
  sequence.last = message.seq;
}

function handle(message) {
  stats.messages += 1;
  checkSequence(message);
  const list = handlers.get(message.type);
  if (!list) return; // e.g. ticker.update: not shown here
  if (MODE_SCOPED.has(message.type) && message.mode && message.mode !== state.status.mode) return;
  if (otherAccount(message.payload)) return; // the page shows one account: another's rows are not its

  for (const fn of list) fn(message.payload, message);
  schedule();
}

function otherAccount(payload) {
  const shown = state.view.account;
  return Boolean(shown && payload && payload.account && payload.account !== shown);
}

// ----- the account shown: one, or all of them ("") -----------------------------------------------

function savedAccount() {
  try {
    return localStorage.getItem(ACCOUNT_KEY) || "";
  } catch {
    return ""; // storage refused (private mode): the page starts on all accounts
  }
}

/* A run's params for the account shown: with one account chosen, the run trades that account; with
   all of them shown, none is named (one account: it is used; several: the server refuses, listing them). */
export function withAccount(params) {
  return state.view.account ? { ...params, account: state.view.account } : params;
}

/* Show `account` ("": all): the server answers with that account's snapshot, or refuses an unknown one.
   The choice is kept at once, so a page opened before the answer (the performance page) shows it too. */
export function showAccount(account) {
  accountSave(account);
  socketSend({ type: "snapshot.get", account });
}

export function accountSave(account) {
  try {
    localStorage.setItem(ACCOUNT_KEY, account);
  } catch {
    // storage refused: the choice lasts as long as the page
  }
}

let lastResync = 0;
export function resync() {
  // One snapshot at a time and at most one a second, however many gaps a burst shows.
  if (state.resyncing) return;
  state.resyncing = true;
  const wait = Math.max(0, lastResync + RESYNC_MIN_MS - Date.now());
  setTimeout(() => {
    lastResync = Date.now();
    stats.resyncs += 1;
    socketSend({ type: "snapshot.get" });
  }, wait);
}

// ----- actions: sent with a request id, answered by `action.result` ---------------------------------

const pending = new Map(); // request_id -> {message, onResult}; resent as-is after a reconnect

export function send(message, onResult) {
  message.request_id = requestId();
  pending.set(message.request_id, { message, onResult });
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  return message.request_id;
}

/* The same as `send`, as a promise of the `action.result` payload for this request id. */
export function request(message) {
  return new Promise((resolve) => send(message, resolve));
}

on("action.result", (p) => {
  const entry = pending.get(p.request_id);
  pending.delete(p.request_id);
  if (entry && entry.onResult) entry.onResult(p);
});

// ----- the socket: reconnect forever with backoff, resync from a fresh snapshot ------------------------

let socket = null;
let attempt = 0;
let statusTimer = 0;
let socketListener = () => {};

/* fn(level, text) is told what the socket is doing: the status bar shows it. */
export function onSocketState(fn) {
  socketListener = fn;
}

export function socketSend(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

export function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // The account shown rides on the URL, so a reconnect's first snapshot is of the same account.
  const query = state.view.account ? `?account=${encodeURIComponent(state.view.account)}` : "";
  socket = new WebSocket(`${scheme}://${location.host}${urls.socket}${query}`);
  socketListener("warn", attempt ? "reconnecting…" : "connecting…");
  socket.onopen = () => {
    attempt = 0;
    for (const { message } of pending.values()) socket.send(JSON.stringify(message));
    statusTimer = setInterval(() => socketSend({ type: "status.get", activity_after: state.activityMax }), STATUS_POLL_MS);
  };
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = (event) => {
    clearInterval(statusTimer);
    if (event.code === 4401) {
      socketListener("bad", "logged out");
      location.assign(`${urls.login}?next=${encodeURIComponent(location.pathname)}`);
      return;
    }
    const delay = backoff(attempt++);
    socketListener("bad", `disconnected — retrying in ${Math.ceil(delay / 1000)}s`);
    setTimeout(connect, delay);
  };
}

function backoff(n) {
  const ceiling = Math.min(15000, 500 * 2 ** n);
  return ceiling / 2 + Math.random() * (ceiling / 2); // jittered, so restarted servers are not stampeded
}

// ----- staying right: snapshots, the status poll's digest ---------------------------------------------
// Registered here, before any panel's handlers, so panels see the new user, intents and status.

on("snapshot", (p) => {
  stats.snapshots += 1;
  state.resyncing = false;
  state.user = p.user;
  state.intents = p.intents;
  state.status = p.status;
  state.view = { account: p.account || "", accounts: p.accounts || [] };
  accountSave(state.view.account);
  setTimeZone(p.status.time_zone);
  state.pnl.clear();
  state.cancelling.clear();
  state.fillIds.clear();
  state.suspects.clear();
});

on("status", (p) => {
  const modeChanged = p.status.mode !== state.status.mode;
  state.status = p.status;
  setTimeZone(p.status.time_zone);
  if (modeChanged || disagrees(p.digest)) resync(); // every table is per mode
});

function disagrees(digest) {
  /* The channel layer drops messages for a socket that falls too far behind, so deltas are
     best-effort. Most losses show as a gap in the worker's numbering (checkSequence); this catches
     the rest (a loss right after a snapshot, pushes that are not the worker's). Compare what the
     page shows with the server's digest; a difference seen at two polls in a row is no delta in
     flight but a lost one: resync from a snapshot. */
  const problems = [];
  for (const [id, status] of Object.entries(digest.orders)) {
    const shown = state.orders.get(Number(id));
    if (!shown || shown.status !== status) problems.push(`order ${id} ${status}`);
  }
  for (const order of state.orders.values()) {
    if (OPEN_STATUSES.has(order.status) && !(String(order.id) in digest.orders)) problems.push(`order ${order.id} closed`);
  }
  for (const [id, status] of Object.entries(digest.runs)) {
    const shown = state.runs.get(Number(id));
    if (!shown || shown.status !== status) problems.push(`run ${id} ${status}`);
  }
  if (digest.fill && !state.fillIds.has(digest.fill)) problems.push(`fill ${digest.fill}`);
  const lost = problems.some((p) => state.suspects.has(p));
  state.suspects = new Set(lost ? [] : problems);
  return lost;
}
