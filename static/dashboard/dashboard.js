/*
 * Live dashboard: one websocket (/ws/live/), a snapshot on connect, then deltas.
 *
 * Every message mutates `state` at once and marks what changed; the page is redrawn at most once
 * per animation frame, touching only the rows and cells whose values changed. So a burst of
 * hundreds of order updates costs one repaint, not hundreds. When the socket drops, it reconnects
 * with capped, jittered backoff and rebuilds everything from the new snapshot.
 *
 * Protocol: docs/DASHBOARD.md. No build step, no framework: plain DOM.
 */
(function () {
  "use strict";

  const urls = JSON.parse(document.getElementById("dashboard-urls").textContent);
  const $ = (id) => document.getElementById(id);

  const OPEN_STATUSES = new Set(["PendingSubmit", "ApiPending", "PreSubmitted", "Submitted", "PendingCancel"]);
  const FINAL_RUN_STATUSES = new Set(["succeeded", "failed", "expired", "interrupted"]);
  const ACCOUNT_FIGURES = ["NetLiquidation", "AvailableFunds", "BuyingPower", "ExcessLiquidity"];
  const HIGHLIGHT_KINDS = new Set(["external_position_change", "handler_error"]);
  const MODE_SCOPED = new Set(["order.status", "fill.new", "position.update", "account.value", "pnl.update", "activity.new"]);
  const LIMITS = { doneOrders: 100, fills: 100, runs: 50, activity: 200, chartPoints: 5000 };
  const STATUS_POLL_MS = 5000;
  const RESYNC_MIN_MS = 1000;
  const HIGHLIGHT_LIMIT = 40; // rows changed in one frame above which changes are not highlighted

  const state = {
    user: { username: "", is_staff: false },
    status: { mode: document.documentElement.dataset.mode, worker: {} },
    orders: new Map(),
    positions: new Map(),
    runs: new Map(),
    account: new Map(),
    pnl: null,
    intents: [],
    activityMax: 0,
    handlerProblems: 0,
    cancelling: new Set(),
    watched: new Map(), // run id -> what to do when it ends (the run form's message, a cancel button)
    fillIds: new Set(),
    suspects: new Set(), // differences from the server's digest seen at the last status poll
    sequence: { epoch: null, last: 0 }, // the worker numbers its pushes: a gap is a lost one
    resyncing: false,
  };

  // ----- small helpers ----------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
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
  function num(value, digits) {
    if (value === null || value === undefined || value === "") return "";
    const n = Number(value);
    if (!Number.isFinite(n)) return String(value);
    if (!formats.has(digits)) {
      const options = digits === undefined ? { maximumFractionDigits: 4 } : { minimumFractionDigits: digits, maximumFractionDigits: digits };
      formats.set(digits, new Intl.NumberFormat(undefined, options));
    }
    return formats.get(digits).format(n);
  }

  function signClass(value) {
    const n = Number(value);
    return !value || !Number.isFinite(n) || n === 0 ? "" : n > 0 ? "pos" : "neg";
  }

  function clock(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return date.toLocaleTimeString(undefined, { hour12: false });
  }

  function adminUrl(kind, id) {
    return urls[kind].replace(urls.placeholder, String(id));
  }

  function requestId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return `r${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
  }

  let flashTimer = 0;
  function flash(message, isError) {
    const box = $("flash");
    box.textContent = message;
    box.classList.toggle("error", !!isError);
    box.hidden = false;
    clearTimeout(flashTimer);
    flashTimer = setTimeout(() => (box.hidden = true), isError ? 12000 : 6000);
  }

  // ----- redraw batching: state changes now, the DOM once per frame --------------------------------

  const stats = (window.dashboardStats = { messages: 0, frames: 0, snapshots: 0, resyncs: 0, slowestFrameMs: 0 }); // for tests and the curious
  const dirty = { orders: new Set(), positions: new Set(), runs: new Set(), fills: [], activity: [], status: false, account: false, chart: false };
  let frame = 0;

  function schedule() {
    if (!frame) frame = requestAnimationFrame(flush);
  }

  function flush() {
    frame = 0;
    stats.frames += 1;
    const started = performance.now();
    // A burst repaints rows without the change highlight: hundreds of animations would cost more than the rows.
    ordersTable.highlight = dirty.orders.size <= HIGHLIGHT_LIMIT;
    for (const id of dirty.orders) ordersTable.render(id, state.orders.get(id));
    for (const key of dirty.positions) positionsTable.render(key, state.positions.get(key));
    for (const id of dirty.runs) runsTable.render(id, state.runs.get(id));
    if (dirty.orders.size) {
      ordersTable.trimDone(LIMITS.doneOrders).forEach((id) => state.orders.delete(id));
      updateOrderCount();
    }
    if (dirty.runs.size) runsTable.trim(LIMITS.runs).forEach((id) => state.runs.delete(id));
    dirty.fills.forEach(renderFill);
    dirty.activity.forEach(renderActivity);
    if (dirty.status) renderStatus();
    if (dirty.account) renderAccount();
    if (dirty.chart) chart.draw();
    for (const name of ["orders", "positions", "runs"]) dirty[name].clear();
    dirty.fills = [];
    dirty.activity = [];
    dirty.status = dirty.account = dirty.chart = false;
    stats.slowestFrameMs = Math.max(stats.slowestFrameMs, performance.now() - started);
  }

  // ----- keyed tables: one row per key, cells rewritten only when their text changes --------------

  class KeyedTable {
    /* columns: [{text(d), cls?(d), flash?: bool} | {build(td, d)}]; options.position(d) picks where a new row goes. */
    constructor(tbody, columns, options) {
      this.tbody = tbody;
      this.columns = columns;
      this.options = options || {};
      this.rows = new Map();
      this.highlight = true;
    }

    render(key, data) {
      let row = this.rows.get(key);
      if (!data) {
        if (row) this.remove(row);
        return;
      }
      const created = !row;
      if (created) {
        row = el("tr", { "data-key": key });
        row.key = key;
        for (const column of this.columns) row.append(el("td", { class: column.className }));
        this.rows.set(key, row);
        this.tbody.insertBefore(row, this.options.position ? this.options.position(data, this) : this.tbody.firstChild);
      }
      if (this.options.rowClass) row.className = this.options.rowClass(data);
      this.columns.forEach((column, i) => {
        const td = row.children[i];
        if (column.build) return column.build(td, data);
        const text = column.text(data);
        if (td.textContent !== text) {
          td.textContent = text;
          if (column.flash && !created && this.highlight) td.animate([{ background: "rgba(78,161,255,.45)" }, { background: "transparent" }], 1200);
        }
        if (column.cls) td.className = [column.className, column.cls(data)].filter(Boolean).join(" ");
      });
    }

    clear() {
      this.tbody.replaceChildren();
      this.rows.clear();
    }

    /* Both trims drop rows from the bottom and return their keys, so the caller can forget them. */
    trim(limit) {
      const removed = [];
      while (this.tbody.rows.length > limit) removed.push(this.remove(this.tbody.lastElementChild));
      return removed;
    }

    trimDone(limit) {
      const removed = [];
      let done = 0;
      for (const row of this.tbody.rows) if (row.classList.contains("done")) done += 1;
      for (let row = this.tbody.lastElementChild; row && done > limit; ) {
        const previous = row.previousElementSibling;
        if (row.classList.contains("done")) {
          removed.push(this.remove(row));
          done -= 1;
        }
        row = previous;
      }
      return removed;
    }

    remove(row) {
      this.rows.delete(row.key);
      row.remove();
      return row.key;
    }
  }

  function newestFirst(d, table) {
    // Rows stay sorted by id, newest on top, whatever order their events arrive in; so trimming the
    // bottom always drops the oldest, and a late event for a dropped row is dropped again.
    const rows = table.tbody.rows;
    if (!rows.length || rows[0].key < d.id) return rows[0] || null; // the usual case: a new order
    if (rows[rows.length - 1].key > d.id) return null; // a snapshot fills the table newest first
    for (const row of rows) if (row.key < d.id) return row;
    return null;
  }

  function linkCell(kind, label) {
    return (td, d) => {
      const id = label === "id" ? d.id : d[label];
      if (!id) return (td.textContent = "");
      const text = `#${id}`;
      if (td.textContent === text) return;
      td.replaceChildren(state.user.is_staff ? el("a", { href: adminUrl(kind, id), text, title: "Open in the admin" }) : text);
    };
  }

  const ordersTable = new KeyedTable($("orders").tBodies[0], [
    { build: linkCell("order", "id") },
    { text: (d) => (d.order_id ? String(d.order_id) : "") },
    { text: (d) => d.symbol },
    { text: (d) => d.action, cls: (d) => `side-${d.action}` },
    { text: (d) => num(d.total_quantity), className: "num" },
    { text: (d) => d.order_type },
    { text: (d) => num(d.lmt_price), className: "num" },
    { text: (d) => d.status, cls: (d) => `status status-${d.status}`, flash: true },
    { text: (d) => num(d.filled), className: "num", flash: true },
    { text: (d) => num(d.remaining), className: "num" },
    { text: (d) => (Number(d.avg_fill_price) ? num(d.avg_fill_price, 2) : ""), className: "num" },
    { text: (d) => d.strategy || "" },
    { build: linkCell("run", "run_id") },
    { build: cancelCell },
  ], { rowClass: (d) => (OPEN_STATUSES.has(d.status) ? "open" : "done"), position: newestFirst });

  function cancelCell(td, d) {
    const cancellable = OPEN_STATUSES.has(d.status) && d.status !== "PendingCancel" && d.order_id > 0;
    let button = td.firstChild;
    if (!cancellable) return button && button.remove();
    if (!button) {
      button = el("button", { type: "button", class: "cancel", text: "Cancel", "data-order": d.id });
      td.append(button);
    }
    const busy = state.cancelling.has(d.id);
    button.disabled = busy;
    button.textContent = busy ? "Cancelling…" : "Cancel";
  }

  function updateOrderCount() {
    let open = 0;
    for (const order of state.orders.values()) if (OPEN_STATUSES.has(order.status)) open += 1;
    $("orders-count").textContent = `${open} open`;
  }

  const positionsTable = new KeyedTable($("positions").tBodies[0], [
    { text: (d) => d.symbol },
    { text: (d) => d.sec_type },
    { text: (d) => num(d.quantity), className: "num", flash: true },
    { text: (d) => num(d.avg_cost, 2), className: "num" },
    { text: (d) => num(d.market_price, 2), className: "num" },
    { text: (d) => num(d.market_value, 2), className: "num" },
    { text: (d) => num(d.unrealized_pnl, 2), className: "num", cls: (d) => signClass(d.unrealized_pnl) },
    { text: (d) => d.account },
  ], {
    position: (d, table) => {
      for (const row of table.tbody.rows) if (row.firstChild.textContent > d.symbol) return row;
      return null;
    },
  });

  const runsTable = new KeyedTable($("runs").tBodies[0], [
    { build: linkCell("run", "id") },
    { text: (d) => d.intent + (d.dry_run ? " (dry run)" : "") },
    { text: (d) => d.status, cls: (d) => `status status-${d.status}`, flash: true },
    { text: (d) => [d.source, d.requested_by].filter(Boolean).join(" · ") },
    { text: (d) => clock(d.finished_at || d.created_at) },
    { text: (d) => d.error || "", className: "outcome" },
  ], {
    position: newestFirst,
  });

  // ----- feeds ----------------------------------------------------------------------------------------

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

  function renderActivity(event) {
    const entry = event.payload;
    const list = $("activity");
    if (list.querySelector(`li[data-id="${entry.id}"]`)) return;
    const highlight = HIGHLIGHT_KINDS.has(entry.kind);
    const item = el("li", { "data-id": entry.id, class: `severity-${entry.severity}${highlight ? " highlight" : ""}` },
      el("time", { text: clock(event.time) }),
      el("span", { class: "kind", text: entry.kind.replace(/_/g, " ") }),
      entry.message);
    let before = list.firstElementChild;
    while (before && Number(before.dataset.id) > entry.id) before = before.nextElementSibling;
    list.insertBefore(item, before);
    while (list.children.length > LIMITS.activity) list.lastElementChild.remove();
  }

  // ----- status bar -------------------------------------------------------------------------------------

  function setPill(id, level, text) {
    const pill = $(id);
    pill.dataset.state = level;
    pill.textContent = text;
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

  function setSocketState(level, text) {
    setPill("socket-state", level, text);
    document.body.classList.toggle("stale", level !== "ok");
  }

  // ----- account figures and the intraday chart ------------------------------------------------------

  function accountValue(tag) {
    let fallback = null;
    for (const value of state.account.values()) {
      if (value.tag !== tag) continue;
      if (value.currency && value.currency !== "BASE") return value;
      fallback = value;
    }
    return fallback;
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

  function padded(u, min, max) {
    // Net liquidation moves by basis points: scale to the data, never to zero.
    if (min === null || max === null) return [0, 1];
    const pad = Math.max((max - min) * 0.1, Math.abs(max) * 0.0005, 1);
    return [min - pad, max + pad];
  }

  const chart = {
    xs: [], netLiq: [], dailyPnl: [], plot: null,

    add(seconds, series, value) {
      const n = Number(value);
      if (!Number.isFinite(n)) return;
      const last = this.xs.length - 1;
      // One point a second at most: a busy stream updates the newest point instead of adding one.
      if (last >= 0 && seconds - this.xs[last] < 1) this[series][last] = n;
      else {
        this.xs.push(seconds);
        this.netLiq.push(series === "netLiq" ? n : null);
        this.dailyPnl.push(series === "dailyPnl" ? n : null);
      }
      if (this.xs.length > LIMITS.chartPoints) [this.xs, this.netLiq, this.dailyPnl].forEach((a) => a.shift());
      dirty.chart = true;
      schedule();
    },

    merge(points) {
      // A resync keeps what this page saw live and adds the server's history it did not have.
      const seen = new Set(this.xs.map(Math.round));
      const rows = this.xs.map((x, i) => [x, this.netLiq[i], this.dailyPnl[i]]);
      for (const [x, value] of points) if (!seen.has(Math.round(x))) rows.push([x, value, null]);
      rows.sort((a, b) => a[0] - b[0]);
      this.xs = rows.map((r) => r[0]);
      this.netLiq = rows.map((r) => r[1]);
      this.dailyPnl = rows.map((r) => r[2]);
      dirty.chart = true;
    },

    draw() {
      if (!this.xs.length || !window.uPlot) return;
      const data = [this.xs, this.netLiq, this.dailyPnl];
      if (this.plot) return this.plot.setData(data);
      const box = $("chart");
      box.replaceChildren();
      const axis = { stroke: "#8894a3", grid: { stroke: "#2b3440" }, ticks: { stroke: "#2b3440" } };
      this.plot = new uPlot({
        width: box.clientWidth || 400,
        height: 220,
        scales: { x: { time: true }, nl: { range: padded }, pnl: { range: padded } },
        series: [
          {},
          { label: "Net liquidation", scale: "nl", stroke: "#4ea1ff", width: 2, spanGaps: true, value: (u, v) => num(v, 2) },
          { label: "Daily P&L", scale: "pnl", stroke: "#37c871", width: 2, spanGaps: true, value: (u, v) => num(v, 2) },
        ],
        axes: [axis, { ...axis, scale: "nl", size: 90 }, { ...axis, scale: "pnl", side: 1, size: 60, grid: { show: false } }],
      }, data, box);
    },

    resize() {
      if (this.plot) this.plot.setSize({ width: $("chart").clientWidth, height: 220 });
    },
  };
  window.addEventListener("resize", () => chart.resize());

  // ----- the run form, generated from the intent's parameter schema ------------------------------------

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
    send({ type: "intent.run", intent, params, dry_run: dryRun, confirmed }, (result) => {
      $("run-submit").disabled = false;
      if (result.ok) {
        showRunMessage(result.message, false, result.run.id);
        state.watched.set(result.run.id, (run) => showRunMessage(runOutcome(run), run.status !== "succeeded", run.id));
        return;
      }
      showRunMessage(result.message, true);
      for (const error of result.details || []) {
        const field = $("run-fields").querySelector(`[data-param="${error.loc && error.loc[0]}"] .field-error`);
        if (field) field.textContent = error.msg;
      }
    });
  }

  // ----- actions: sent with a request id, answered by `action.result` ---------------------------------

  const pending = new Map(); // request_id -> {message, onResult}; resent as-is after a reconnect

  function send(message, onResult) {
    message.request_id = requestId();
    pending.set(message.request_id, { message, onResult });
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function confirmAction(text) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    dialog.returnValue = "";
    dialog.showModal();
    return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true }));
  }

  async function cancelOrder(id) {
    const order = state.orders.get(id);
    if (!order) return;
    let confirmed = false;
    if (state.status.mode === "live") {
      confirmed = await confirmAction(`Cancel order ${order.order_id}: ${order.action} ${num(order.total_quantity)} ${order.symbol}?`);
      if (!confirmed) return;
    }
    const redraw = () => {
      dirty.orders.add(id);
      schedule();
    };
    const release = () => {
      state.cancelling.delete(id);
      redraw();
    };
    state.cancelling.add(id);
    redraw();
    send({ type: "order.cancel", order: id, confirmed }, (result) => {
      flash(result.message, !result.ok);
      if (!result.ok) return release();
      state.watched.set(result.run.id, (run) => {
        if (run.status === "succeeded") return;
        release();
        flash(runOutcome(run), true);
      });
    });
  }

  async function flipSwitch(name) {
    const on = name === "kill_switch" ? !state.status.kill_switch : !state.status.soft_stop;
    if (name === "kill_switch" && !on && state.status.mode === "live") {
      if (!(await confirmAction("Release the kill switch? Trading in LIVE mode resumes at once."))) return;
    }
    send({ type: "switch.set", switch: name, on }, (result) => flash(result.message, !result.ok));
  }

  // ----- applying messages ------------------------------------------------------------------------------

  function applySnapshot(payload) {
    stats.snapshots += 1;
    state.user = payload.user;
    state.intents = payload.intents;
    state.status = payload.status;
    state.pnl = null;
    state.cancelling.clear();
    for (const key of ["orders", "positions", "runs", "account"]) state[key].clear();
    for (const table of [ordersTable, positionsTable, runsTable]) table.clear();
    $("fills").replaceChildren();
    $("activity").replaceChildren();
    for (const key of ["orders", "positions", "runs"]) dirty[key].clear();
    dirty.fills = [];
    dirty.activity = [];

    payload.orders.forEach(setOrder);
    payload.positions.forEach(setPosition);
    payload.runs.forEach(setRun);
    payload.account_values.forEach(setAccountValue);
    state.fillIds.clear();
    state.suspects.clear();
    [...payload.fills].reverse().forEach(addFill);
    [...payload.activity].reverse().forEach(addActivity);
    state.handlerProblems = payload.handler_problems.reduce((sum, h) => sum + h.errors, 0);
    renderHandlerProblems(payload.handler_problems);
    chart.merge(payload.net_liquidation);
    const netLiq = accountValue("NetLiquidation");
    if (netLiq && !payload.net_liquidation.length) chart.add(Date.now() / 1000, "netLiq", netLiq.value);
    renderRunForm();
    dirty.status = dirty.account = true;
    schedule();
  }

  function setOrder(order) {
    const merged = { ...state.orders.get(order.id), ...order };
    if (!OPEN_STATUSES.has(merged.status) || merged.status === "PendingCancel") state.cancelling.delete(order.id);
    state.orders.set(order.id, merged);
    dirty.orders.add(order.id);
  }

  function setPosition(position) {
    const key = `${position.account}:${position.con_id}`;
    if (Number(position.quantity) === 0) state.positions.delete(key);
    else state.positions.set(key, { ...state.positions.get(key), ...position });
    dirty.positions.add(key);
  }

  function setRun(run) {
    const merged = { ...state.runs.get(run.id), ...run };
    state.runs.set(run.id, merged);
    dirty.runs.add(run.id);
    const watcher = state.watched.get(run.id);
    if (watcher && FINAL_RUN_STATUSES.has(merged.status)) {
      state.watched.delete(run.id);
      watcher(merged);
    }
  }

  function runOutcome(run) {
    const label = `run #${run.id} ${run.intent}${run.dry_run ? " (dry run)" : ""}`;
    return run.status === "succeeded" ? `${label} succeeded` : `${label} ${run.status}: ${run.error || "see the run in the admin"}`;
  }

  function setAccountValue(value) {
    state.account.set(`${value.account}|${value.tag}|${value.currency}`, value);
    dirty.account = true;
  }

  function addFill(fill) {
    state.fillIds.add(fill.id);
    dirty.fills.push(fill);
  }

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

  function addActivity(event) {
    state.activityMax = Math.max(state.activityMax, event.payload.id || 0);
    dirty.activity.push(event);
  }

  function renderHandlerProblems(problems) {
    const badge = $("handler-problems");
    badge.hidden = !state.handlerProblems;
    badge.textContent = `${state.handlerProblems} handler error${state.handlerProblems === 1 ? "" : "s"}`;
    if (problems) badge.title = problems.map((h) => `${h.name} (${h.file}:${h.line}): ${h.errors} — ${h.last_error}`).join("\n");
  }

  const handlers = {
    "snapshot": (p) => {
      state.resyncing = false;
      applySnapshot(p);
      setSocketState("ok", `live · synced ${clock(new Date().toISOString())}`);
    },
    "status": (p) => {
      const modeChanged = p.status.mode !== state.status.mode;
      state.status = p.status;
      p.activity.forEach(addActivity);
      dirty.status = true;
      if (modeChanged || disagrees(p.digest)) resync(); // every table is per mode
    },
    "config.update": (p) => {
      state.status = { ...state.status, ...p };
      dirty.status = true;
    },
    "order.status": setOrder,
    "fill.new": addFill,
    "position.update": setPosition,
    "account.value": (p, e) => {
      setAccountValue(p);
      if (p.tag === "NetLiquidation" && p.currency !== "BASE") chart.add(Date.parse(e.time) / 1000, "netLiq", p.value);
    },
    "pnl.update": (p, e) => {
      state.pnl = p;
      dirty.account = true;
      chart.add(Date.parse(e.time) / 1000, "dailyPnl", p.daily_pnl);
    },
    "activity.new": (p, e) => addActivity(e),
    "position.external_change": (p) => flash(`External position change: ${p.symbol} ${p.delta} in ${p.account} — no fill of ours explains it`, true),
    "handler.error": (p) => {
      state.handlerProblems += 1;
      renderHandlerProblems(null);
      flash(`Handler ${p.name || "?"} failed: ${p.error || p.message || "see the activity log"}`, true);
    },
    "run.update": setRun,
    "worker.heartbeat": (p) => {
      state.status.worker = { ...state.status.worker, alive: true, connected: p.connected, state: p.state, gateway: p.gateway, reason: "" };
      dirty.status = true;
    },
    "connection.state": (p) => {
      state.status.worker = { ...state.status.worker, connected: p.connected, state: p.state, gateway: p.gateway };
      dirty.status = true;
    },
    "action.result": (p) => {
      const request = pending.get(p.request_id);
      pending.delete(p.request_id);
      if (request && request.onResult) request.onResult(p);
    },
  };

  let lastResync = 0;
  function resync() {
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
    const handler = handlers[message.type];
    if (!handler) return; // e.g. ticker.update: not shown here
    if (MODE_SCOPED.has(message.type) && message.mode && message.mode !== state.status.mode) return;
    handler(message.payload, message);
    schedule();
  }

  // ----- the socket: reconnect forever with backoff, resync from a fresh snapshot ------------------------

  let socket = null;
  let attempt = 0;
  let statusTimer = 0;

  function socketSend(message) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${urls.socket}`);
    setSocketState("warn", attempt ? "reconnecting…" : "connecting…");
    socket.onopen = () => {
      attempt = 0;
      for (const { message } of pending.values()) socket.send(JSON.stringify(message));
      statusTimer = setInterval(() => socketSend({ type: "status.get", activity_after: state.activityMax }), STATUS_POLL_MS);
    };
    socket.onmessage = (event) => handle(JSON.parse(event.data));
    socket.onclose = (event) => {
      clearInterval(statusTimer);
      if (event.code === 4401) {
        setSocketState("bad", "logged out");
        location.assign(`${urls.login}?next=${encodeURIComponent(location.pathname)}`);
        return;
      }
      const delay = backoff(attempt++);
      setSocketState("bad", `disconnected — retrying in ${Math.ceil(delay / 1000)}s`);
      setTimeout(connect, delay);
    };
  }

  function backoff(n) {
    const ceiling = Math.min(15000, 500 * 2 ** n);
    return ceiling / 2 + Math.random() * (ceiling / 2); // jittered, so restarted servers are not stampeded
  }

  // ----- wiring ------------------------------------------------------------------------------------------

  $("orders").addEventListener("click", (event) => {
    const button = event.target.closest("button.cancel");
    if (button) cancelOrder(Number(button.dataset.order));
  });
  $("kill-switch").querySelector("button").addEventListener("click", () => flipSwitch("kill_switch"));
  $("soft-stop").querySelector("button").addEventListener("click", () => flipSwitch("soft_stop"));
  $("run-intent").addEventListener("change", renderRunFields);
  $("run-form").addEventListener("submit", submitRun);
  connect();
})();
