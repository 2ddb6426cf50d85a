/* The account selector: the page shows one account, or all of them (summed where they can be).

The choice is kept in the browser (localStorage) and rides on the socket's URL, so a reload or a
reconnect shows the same account; the server answers a choice with that account's snapshot, and the
page drops other accounts' pushes from then on (core.js). Hidden while there is one account to show. */

import { $, accountSave, el, flash, on, onFrame, showAccount, state } from "./core.js";

let dirty = false;

function render() {
  const { account, accounts } = state.view;
  $("account-view").hidden = accounts.length < 2 && !account;
  const all = accounts.length > 1 ? `All accounts (${accounts.length})` : "All accounts";
  const options = [["", all], ...accounts.map((name) => [name, name])];
  $("account-select").replaceChildren(...options.map(([value, text]) => el("option", { value, text })));
  $("account-select").value = account;
}

on("snapshot", () => (dirty = true));
on("action.result", (p) => {
  if (p.action !== "snapshot.get" || p.ok) return;
  flash(p.message, true); // an account this mode does not know: the selector goes back to what is shown
  accountSave(state.view.account);
  dirty = true;
});

$("account-select").addEventListener("change", (event) => showAccount(event.target.value));

onFrame(() => {
  if (dirty) render();
  dirty = false;
});
