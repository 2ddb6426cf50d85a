/* Keyed tables: one row per key, cells rewritten only when their text changes. */

import { adminUrl, el, state } from "./core.js";

export class KeyedTable {
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

export function newestFirst(d, table) {
  // Rows stay sorted by id, newest on top, whatever order their events arrive in; so trimming the
  // bottom always drops the oldest, and a late event for a dropped row is dropped again.
  const rows = table.tbody.rows;
  if (!rows.length || rows[0].key < d.id) return rows[0] || null; // the usual case: a new order
  if (rows[rows.length - 1].key > d.id) return null; // a snapshot fills the table newest first
  for (const row of rows) if (row.key < d.id) return row;
  return null;
}

export function linkCell(kind, label) {
  return (td, d) => {
    const id = label === "id" ? d.id : d[label];
    if (!id) return (td.textContent = "");
    const text = `#${id}`;
    if (td.textContent === text) return;
    td.replaceChildren(state.user.is_staff ? el("a", { href: adminUrl(kind, id), text, title: "Open in the admin" }) : text);
  };
}

