/* Intent runs: the latest 30 (at most 50 kept), status as it changes; a run someone watches calls back when it ends. */

import { $, FINAL_RUN_STATUSES, LIMITS, clock, on, onFrame, state } from "./core.js";
import { KeyedTable, linkCell, newestFirst } from "./table.js";

const dirty = new Set();

const table = new KeyedTable($("runs").tBodies[0], [
  { build: linkCell("run", "id") },
  { text: (d) => d.intent + (d.dry_run ? " (dry run)" : "") },
  { text: (d) => d.status, cls: (d) => `status status-${d.status}`, flash: true },
  { text: (d) => [d.source, d.requested_by].filter(Boolean).join(" · ") },
  { text: (d) => clock(d.finished_at || d.created_at) },
  { text: (d) => d.error || "", className: "outcome" },
], {
  position: newestFirst,
});

function setRun(run) {
  const merged = { ...state.runs.get(run.id), ...run };
  state.runs.set(run.id, merged);
  dirty.add(run.id);
  const watcher = state.watched.get(run.id);
  if (watcher && FINAL_RUN_STATUSES.has(merged.status)) {
    state.watched.delete(run.id);
    watcher(merged);
  }
}

on("snapshot", (p) => {
  state.runs.clear();
  table.clear();
  dirty.clear();
  p.runs.forEach(setRun);
});
on("run.update", setRun);

onFrame(() => {
  for (const id of dirty) table.render(id, state.runs.get(id));
  if (dirty.size) table.trim(LIMITS.runs).forEach((id) => state.runs.delete(id));
  dirty.clear();
});
