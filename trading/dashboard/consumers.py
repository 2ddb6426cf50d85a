"""The live dashboard's websocket (`/ws/live/`): a snapshot on connect, then the worker's events as-is.

Protocol (docs/DASHBOARD.md has the full list). Server to browser, every message in live event schema
v1 (trading/live.py): `snapshot`, the worker's events (`order.status`, `fill.new`, …), `status`,
`config.update`, `action.result`. Browser to server: `snapshot.get`, `status.get`, `intent.run`,
`order.cancel`, `order.modify`, `order.quote`, `order.preview`, `switch.set` (`LiveConsumer.commands`).
The consumer stays thin: database work happens in the `_`-prefixed helpers below, the rules in
actions.py. A quote or a preview is a question for the IB worker (trading.live.worker_request),
answered within QUOTE_TIMEOUT / PREVIEW_TIMEOUT or refused as `worker_unavailable`; while it waits,
this socket's other messages wait too (a few seconds at most).

A socket lives no longer than the session it was opened under: it joins the session's group and is
closed (4401) when that session logs out, and every command re-reads the session first (still there,
still this user's, the user still active, the second factor there when required) — refused with 4401
otherwise. A frame that is not a JSON object of sane size and depth is answered with an
`action.result` error (`bad_frame`); the socket stays open.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from trading import live
from trading.auth.sessions import session_user_current
from trading.dashboard import actions
from trading.dashboard.snapshot import snapshot_build, status_reply

log = logging.getLogger("trading.dashboard")

CLOSE_NOT_AUTHENTICATED = 4401  # like HTTP 401: the page sends the browser to the login form
ACTION_RESULT = "action.result"
UNKNOWN_MESSAGE = "unknown message type {kind!r}"
SERVER_ERROR = "the server failed to answer ({error}): see the server log, and the runs list before retrying"
BAD_FRAME = "bad_frame"
BAD_FRAME_MESSAGE = "a message must be a JSON object of at most {size} characters nested at most {depth} levels ({problem})"
MAX_FRAME_CHARS = 64 * 1024
MAX_FRAME_DEPTH = 32
MAX_DATABASE_ID = 2**63 - 1
MAX_ACCOUNT_CHARS = 32  # the records' account field
UNKNOWN_ACCOUNT = "unknown_account"
BAD_ACCOUNT = "`account` must be an account id (at most 32 characters) or \"\" for all accounts"


class LiveConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    session_key: str | None = None
    account: str = ""  # the account the page shows ("": all); set by `?account=` and `snapshot.get`
    # Browser message type -> the method that answers it (the access-control drill walks this table).
    commands = {
        "snapshot.get": "snapshot_get",
        "status.get": "status_get",
        "intent.run": "intent_run",
        "order.cancel": "order_cancel",
        "order.modify": "order_modify",
        "order.quote": "order_quote",
        "order.preview": "order_preview",
        "switch.set": "switch_set",
    }

    async def connect(self) -> None:
        user = self.scope.get("user")
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if user is None or not user.is_authenticated or not await _session_current(session_key, user.pk):
            # Accept, then close: a close before the handshake reaches the browser as a bare 1006.
            await self.accept()
            await self.close(code=CLOSE_NOT_AUTHENTICATED)
            return
        self.session_key = session_key
        self.group = live.live_group()
        # Join before reading the snapshot, so no event recorded meanwhile is missed.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(live.session_group(session_key), self.channel_name)
        await self.accept()
        # The page reconnects with the account it showed; one this mode no longer knows shows all.
        snapshot = await _snapshot(user, _query_account(self.scope))
        self.account = snapshot["payload"]["account"]
        await self.send_json(snapshot)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.channel_layer.group_discard(live.session_group(self.session_key), self.channel_name)

    async def session_ended(self, message: dict) -> None:
        """The session this socket was opened under logged out (trading/auth/signals.py)."""
        await self._end_session()

    async def live_event(self, message: dict) -> None:
        """A worker (or another dashboard) event for the group: forwarded to the browser unchanged."""
        await self.send_json(message["event"])

    async def live_batch(self, message: dict) -> None:
        """A burst of worker events in one message: forwarded to the browser one by one, in order."""
        for event in message["events"]:
            await self.send_json(event)

    async def receive(self, text_data=None, bytes_data=None, **kwargs) -> None:
        """Decode a frame; a bad one is answered with an error, never with a closed socket (1011)."""
        if self.group is None:
            return
        problem, content = _frame_decode(text_data, bytes_data)
        if problem:
            message = BAD_FRAME_MESSAGE.format(size=MAX_FRAME_CHARS, depth=MAX_FRAME_DEPTH, problem=problem)
            await self.send_json(_result({}, refusal=actions.ActionRefused(BAD_FRAME, message)))
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs) -> None:
        if self.group is None:
            return
        if not await _session_current(self.session_key, self.scope["user"].pk):
            await self._end_session()
            return
        kind = content.get("type")
        handler = self.commands.get(kind) if isinstance(kind, str) else None
        if handler is None:
            refusal = actions.ActionRefused("unknown_message", UNKNOWN_MESSAGE.format(kind=kind))
            await self.send_json(_result(content, refusal=refusal))
            return
        await getattr(self, handler)(content)

    async def snapshot_get(self, content: dict) -> None:
        """A fresh snapshot (a resync), or of another account when `account` is given ("": all)."""
        account = content.get("account", self.account)
        if not isinstance(account, str) or len(account) > MAX_ACCOUNT_CHARS:
            refusal = actions.ActionRefused(UNKNOWN_ACCOUNT, BAD_ACCOUNT)
            await self.send_json(_result(content, refusal=refusal))
            return
        try:
            snapshot = await _snapshot(self.scope["user"], account, strict=True)
        except ValueError as exc:
            await self.send_json(_result(content, refusal=actions.ActionRefused(UNKNOWN_ACCOUNT, str(exc))))
            return
        self.account = snapshot["payload"]["account"]
        await self.send_json(snapshot)

    async def status_get(self, content: dict) -> None:
        after = content.get("activity_after")
        valid = isinstance(after, int) and not isinstance(after, bool) and 0 <= after <= MAX_DATABASE_ID
        await self.send_json(await _status(after if valid else None, self.account))

    async def intent_run(self, content: dict) -> None:
        await self._act(
            content,
            actions.dashboard_intent_run,
            intent=str(content.get("intent") or ""),
            params=content.get("params"),
            dry_run=content.get("dry_run", True),
            confirmed=content.get("confirmed") is True,
            request_id=str(content.get("request_id") or ""),
        )

    async def order_cancel(self, content: dict) -> None:
        await self._act(
            content,
            actions.dashboard_order_cancel,
            order=content.get("order"),
            confirmed=content.get("confirmed") is True,
            request_id=str(content.get("request_id") or ""),
        )

    async def order_modify(self, content: dict) -> None:
        await self._act(
            content,
            actions.dashboard_order_modify,
            order=content.get("order"),
            changes={name: content.get(name) for name in actions.MODIFY_FIELDS},
            confirmed=content.get("confirmed") is True,
            request_id=str(content.get("request_id") or ""),
        )

    async def order_quote(self, content: dict) -> None:
        fields = {name: content.get(name) for name in ("symbol", "sec_type", "exchange", "currency", "account")}
        await self._ask_worker(content, actions.order_quote_command, live.QUOTE_TIMEOUT, **fields)

    async def order_preview(self, content: dict) -> None:
        await self._ask_worker(content, actions.order_preview_command, live.PREVIEW_TIMEOUT, params=content.get("params"))

    async def switch_set(self, content: dict) -> None:
        await self._act(
            content, actions.dashboard_switch_set, switch=content.get("switch"), on=content.get("on"),
            account=content.get("account"),
        )  # fmt: skip

    async def _end_session(self) -> None:
        if self.group:
            await self.disconnect(CLOSE_NOT_AUTHENTICATED)
            self.group = None
        await self.close(code=CLOSE_NOT_AUTHENTICATED)

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

    async def _ask_worker(self, content: dict, build, timeout: float, **arguments) -> None:
        """Check the request (database work off the loop), ask the worker, answer with what it said."""
        request_id = str(content.get("request_id") or "")
        try:
            command = await _perform(build, user=self.scope["user"], request_id=request_id, **arguments)
            connection = command.pop("connection", "default")  # the worker of the account the ticket is for
            answer = await live.worker_request(command, timeout=timeout, connection=connection)
            answer = actions.worker_answer(answer, timeout=timeout)
        except actions.ActionRefused as refusal:
            await self.send_json(_result(content, refusal=refusal))
            return
        except Exception as exc:
            log.exception("dashboard %s failed", content.get("type"))
            refusal = actions.ActionRefused("server_error", SERVER_ERROR.format(error=type(exc).__name__))
            await self.send_json(_result(content, refusal=refusal))
            return
        await self.send_json(_result(content, answer=answer))


def _result(
    content,
    *,
    outcome: actions.ActionOutcome | None = None,
    refusal: actions.ActionRefused | None = None,
    answer: dict | None = None,
) -> dict:
    content = content if isinstance(content, dict) else {}
    payload = {"request_id": str(content.get("request_id") or ""), "action": str(content.get("type") or "")}
    if refusal is not None:
        payload.update(ok=False, error=refusal.code, message=refusal.message, details=refusal.details)
    elif answer is not None:  # the worker's answer to a quote or a preview: `message` and `quote`/`preview`
        payload.update(ok=True, **answer)
    else:
        payload.update(ok=True, message=outcome.message, run=outcome.run, created=outcome.created)
    return live.live_event(ACTION_RESULT, payload)


def _frame_decode(text_data: str | None, bytes_data: bytes | None) -> tuple[str, dict | None]:
    """(problem, content): the frame as a JSON object, or what is wrong with it."""
    if text_data is None:
        return "a binary frame", None
    if len(text_data) > MAX_FRAME_CHARS:
        return f"{len(text_data)} characters", None
    try:
        content = json.loads(text_data)
    except RecursionError:
        return "nested too deeply", None
    except ValueError:
        return "not JSON", None
    if not isinstance(content, dict):
        return "not an object", None
    if _depth(content) > MAX_FRAME_DEPTH:
        return "nested too deeply", None
    return "", content


def _depth(value) -> int:
    """How deeply lists and objects nest (iteratively: no recursion on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


@database_sync_to_async
def _session_current(session_key: str | None, user_id) -> bool:
    return session_user_current(session_key, user_id)


@database_sync_to_async
def _snapshot(user, account: str = "", *, strict: bool = False) -> dict:
    """The snapshot of `account` ("": all). Not strict (a reconnect): an account this mode does not
    know gives all accounts; strict (the page's choice): ValueError naming the known ones."""
    try:
        return snapshot_build(user=user, account=account)
    except ValueError:
        if strict:
            raise
        return snapshot_build(user=user, account="")


def _query_account(scope) -> str:
    values = parse_qs((scope.get("query_string") or b"").decode("latin-1")).get("account") or [""]
    return values[0][:MAX_ACCOUNT_CHARS]


@database_sync_to_async
def _status(activity_after: int | None, account: str = "") -> dict:
    return status_reply(activity_after=activity_after, account=account)


@database_sync_to_async
def _perform(action, **arguments) -> actions.ActionOutcome:
    return action(**arguments)
