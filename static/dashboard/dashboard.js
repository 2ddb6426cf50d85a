/*
 * Live dashboard: one websocket (/ws/live/), a snapshot on connect, then deltas.
 *
 * Every message mutates `state` at once and marks what changed; the page is redrawn at most once
 * per animation frame, touching only the rows and cells whose values changed. So a burst of
 * hundreds of order updates costs one repaint, not hundreds. When the socket drops, it reconnects
 * with capped, jittered backoff and rebuilds everything from the new snapshot.
 *
 * Native ES modules, no build step, no framework: modules/core.js holds the state and the socket,
 * each panel is its own module and registers its handlers (`on`) and its redraw (`onFrame`).
 * Protocol and module layout: docs/DASHBOARD.md.
 */

import { connect } from "./modules/core.js";
import "./modules/status.js";
import "./modules/accounts.js";
import "./modules/orders.js";
import "./modules/positions.js";
import "./modules/runs.js";
import "./modules/fills.js";
import "./modules/activity.js";
import "./modules/account.js";
import "./modules/intraday.js";
import "./modules/actions.js";
import "./modules/ticket.js";

connect();
