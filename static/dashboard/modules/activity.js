/* Activity: the activity log, newest first; external position changes and handler failures stand out. */

import { $, LIMITS, clock, el, flash, on, onFrame, state } from "./core.js";

const HIGHLIGHT_KINDS = new Set(["external_position_change", "handler_error"]);
let queued = [];

function addActivity(event) {
  queued.push(event);
}

/* Entries the server listed (snapshot, status poll) move the poll cursor; pushed ones do not: an entry
   another process inserted earlier can commit after a later one was pushed, and a cursor taken from the
   push would step over it (the server also looks back ACTIVITY_OVERLAP; repeats are dropped on render). */
function addListed(event) {
  state.activityMax = Math.max(state.activityMax, event.payload.id || 0);
  addActivity(event);
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

function renderHandlerProblems(problems) {
  const badge = $("handler-problems");
  badge.hidden = !state.handlerProblems;
  badge.textContent = `${state.handlerProblems} handler error${state.handlerProblems === 1 ? "" : "s"}`;
  if (problems) badge.title = problems.map((h) => `${h.name} (${h.file}:${h.line}): ${h.errors} — ${h.last_error}`).join("\n");
}

on("snapshot", (p) => {
  $("activity").replaceChildren();
  queued = [];
  [...p.activity].reverse().forEach(addListed);
  state.handlerProblems = p.handler_problems.reduce((sum, h) => sum + h.errors, 0);
  renderHandlerProblems(p.handler_problems);
});
on("status", (p) => p.activity.forEach(addListed));
on("activity.new", (p, e) => addActivity(e));
on("position.external_change", (p) => flash(`External position change: ${p.symbol} ${p.delta} in ${p.account} — no fill of ours explains it`, true));
on("handler.error", (p) => {
  state.handlerProblems += 1;
  renderHandlerProblems(null);
  flash(`Handler ${p.name || "?"} failed: ${p.error || p.message || "see the activity log"}`, true);
});

onFrame(() => {
  queued.forEach(renderActivity);
  queued = [];
});
