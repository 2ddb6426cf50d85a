"""The live dashboard's websocket (`/ws/live/`): a snapshot on connect, then the worker's events as-is.

Protocol (docs/DASHBOARD.md has the full list). Server to browser, every message in live event schema
v1 (trading/live.py): `snapshot`, the worker's events (`order.status`, `fill.new`, …), `status`,
`config.update`, `action.result`. Browser to server: `snapshot.get`, `status.get`, `intent.run`,
`order.cancel`, `switch.set`. The consumer stays thin: database work happens in the `_`-prefixed
helpers below, the rules in actions.py.
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from trading import live
from trading.dashboard import actions
from trading.dashboard.snapshot import snapshot_build, status_reply

log = logging.getLogger("trading.dashboard")

CLOSE_NOT_AUTHENTICATED = 4401  # like HTTP 401: the page sends the browser to the login form
ACTION_RESULT = "action.result"
UNKNOWN_MESSAGE = "unknown message type {kind!r}"
SERVER_ERROR = "the server failed to answer ({error}): see the server log, and the runs list before retrying"


class LiveConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            # Accept, then close: a close before the handshake reaches the browser as a bare 1006.
            await self.accept()
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.group = live.live_group()
        # Join before reading the snapshot, so no event recorded meanwhile is missed.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json(await _snapshot(user))

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def live_event(self, message: dict) -> None:
        """A worker (or another dashboard) event for the group: forwarded to the browser unchanged."""
        await self.send_json(message["event"])

    async def live_batch(self, message: dict) -> None:
        """A burst of worker events in one message: forwarded to the browser one by one, in order."""
        for event in message["events"]:
            await self.send_json(event)

    async def receive_json(self, content, **kwargs) -> None:
        if self.group is None:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        user = self.scope["user"]
        if kind == "snapshot.get":
            await self.send_json(await _snapshot(user))
        elif kind == "status.get":
            after = content.get("activity_after")
            await self.send_json(await _status(after if isinstance(after, int) else None))
        elif kind == "intent.run":
            await self._act(
                content,
                actions.dashboard_intent_run,
                intent=str(content.get("intent") or ""),
                params=content.get("params"),
                dry_run=content.get("dry_run", True),
                confirmed=content.get("confirmed") is True,
                request_id=str(content.get("request_id") or ""),
            )
        elif kind == "order.cancel":
            await self._act(
                content,
                actions.dashboard_order_cancel,
                order=content.get("order"),
                confirmed=content.get("confirmed") is True,
                request_id=str(content.get("request_id") or ""),
            )
        elif kind == "switch.set":
            await self._act(content, actions.dashboard_switch_set, switch=content.get("switch"), on=content.get("on"))
        else:
            refusal = actions.ActionRefused("unknown_message", UNKNOWN_MESSAGE.format(kind=kind))
            await self.send_json(_result(content, refusal=refusal))

    async def _act(self, content: dict, action, **arguments) -> None:
        try:
            outcome = await _perform(action, user=self.scope["user"], **arguments)
        except actions.ActionRefused as refusal:
            await self.send_json(_result(content, refusal=refusal))
            return
        except Exception as exc:
            log.exception("dashboard action %s failed", content.get("type"))
            refusal = actions.ActionRefused("server_error", SERVER_ERROR.format(error=type(exc).__name__))
            await self.send_json(_result(content, refusal=refusal))
            return
        for event in outcome.events:
            try:
                await self.channel_layer.group_send(self.group, live.channel_message(event))
            except Exception as exc:  # the action is done; only the push to other pages is lost
                log.warning("dashboard event not broadcast: %s: %s", type(exc).__name__, exc)
        await self.send_json(_result(content, outcome=outcome))


def _result(content, *, outcome: actions.ActionOutcome | None = None, refusal: actions.ActionRefused | None = None) -> dict:
    content = content if isinstance(content, dict) else {}
    payload = {"request_id": str(content.get("request_id") or ""), "action": str(content.get("type") or "")}
    if refusal is not None:
        payload.update(ok=False, error=refusal.code, message=refusal.message, details=refusal.details)
    else:
        payload.update(ok=True, message=outcome.message, run=outcome.run, created=outcome.created)
    return live.live_event(ACTION_RESULT, payload)


@database_sync_to_async
def _snapshot(user) -> dict:
    return snapshot_build(user=user)


@database_sync_to_async
def _status(activity_after: int | None) -> dict:
    return status_reply(activity_after=activity_after)


@database_sync_to_async
def _perform(action, **arguments) -> actions.ActionOutcome:
    return action(**arguments)
