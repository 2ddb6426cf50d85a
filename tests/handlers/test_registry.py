"""The decorator: event names, signatures, sync/async, and what a record keeps."""

import inspect

import pytest
from ib_insync import IB

from trading.handlers import EVENTS, HandlerDefinitionError, IBEventRegistry, accepted_names, resolve_event
from trading.handlers.registry import collecting


def test_the_event_table_is_derived_from_ib_insync():
    assert {spec.attr for spec in EVENTS.values()} == set(IB.events)
    assert resolve_event("execDetails").params == ("trade", "fill")
    assert resolve_event("errorEvent").arity == 4
    assert resolve_event("connected").arity == 0
    assert resolve_event("barUpdate").arity == 2


def test_it_accepts_the_seeds_names_and_ib_insync_attribute_names():
    for short, attr in [
        ("orderStatus", "orderStatusEvent"),
        ("barUpdate", "barUpdateEvent"),
        ("execDetails", "execDetailsEvent"),
        ("error", "errorEvent"),
        ("pnl", "pnlEvent"),
        ("position", "positionEvent"),
        ("newOrder", "newOrderEvent"),
        ("openOrder", "openOrderEvent"),
    ]:
        assert resolve_event(short) is resolve_event(attr)
        assert resolve_event(short).attr == attr
    assert resolve_event("tickers").attr == "pendingTickersEvent"
    assert "orderStatus" in accepted_names()


def test_outside_a_load_a_valid_handler_is_returned_unchanged():
    def on_status(ib, trade):
        return "called"

    assert IBEventRegistry.collect("orderStatus")(on_status) is on_status


def test_an_unknown_event_name_is_rejected_with_file_line_and_the_closest_name():
    with pytest.raises(HandlerDefinitionError) as caught:

        @IBEventRegistry.collect("ordrStatus")
        def on_status(ib, trade):
            pass

    message = str(caught.value)
    assert message.startswith(f"{__file__}:{caught.value.line}: handler ")
    assert "<locals>.on_status: unknown IB event" in message
    assert "Did you mean 'orderStatus'?" in message
    assert "Accepted: " in message and "execDetails" in message


def test_the_error_line_is_the_decorator_line():
    line = inspect.currentframe().f_lineno + 3
    with pytest.raises(HandlerDefinitionError) as caught:

        @IBEventRegistry.collect("nope")
        def handler(ib):
            pass

    assert caught.value.line == line
    assert caught.value.file == __file__


@pytest.mark.parametrize(
    "source",
    [
        "def handler(ib): pass",  # execDetails sends (trade, fill)
        "def handler(ib, trade): pass",
        "def handler(ib, trade, fill, extra): pass",
        "def handler(ib, trade, fill, *, required): pass",
        "def handler(): pass",
    ],
)
def test_a_signature_that_cannot_take_ib_and_the_event_args_is_rejected(source):
    namespace = {}
    exec(compile(source, "handler_file.py", "exec"), namespace)

    with pytest.raises(HandlerDefinitionError, match=r"handler_file.py:1: handler handler: signature"):
        IBEventRegistry.collect("execDetails")(namespace["handler"])


@pytest.mark.parametrize(
    "source",
    [
        "def handler(ib, trade, fill): pass",
        "def handler(ib, *args): pass",
        "def handler(*args): pass",
        "def handler(ib, trade, fill, extra=None, **kwargs): pass",
    ],
)
def test_signatures_that_fit_are_accepted(source):
    namespace = {}
    exec(source, namespace)

    IBEventRegistry.collect("execDetails")(namespace["handler"])


def test_async_is_detected_and_an_explicit_flag_must_agree():
    async def coroutine_handler(ib, trade):
        pass

    def plain_handler(ib, trade):
        pass

    with collecting() as collector:
        IBEventRegistry.collect("orderStatus")(coroutine_handler)
        IBEventRegistry.collect("orderStatus", is_async=True)(coroutine_handler)
        IBEventRegistry.collect("orderStatus")(plain_handler)
    assert [record.is_async for record in collector.handlers] == [True, False]  # same handler twice: once

    with pytest.raises(HandlerDefinitionError, match="is_async=True but it is not an 'async def'"):
        IBEventRegistry.collect("orderStatus", is_async=True)(plain_handler)
    with pytest.raises(HandlerDefinitionError, match="is an 'async def' function"):
        IBEventRegistry.collect("orderStatus", is_async=False)(coroutine_handler)


def test_using_the_decorator_without_an_event_name_is_a_clear_error():
    with pytest.raises(TypeError, match=r"collect\('orderStatus'\)"):

        @IBEventRegistry.collect
        def handler(ib, trade):
            pass


def test_a_record_keeps_event_qualname_file_line_and_kind():
    with collecting() as collector:

        class Holder:
            @staticmethod
            @IBEventRegistry.collect("barUpdateEvent")
            async def on_bar(ib, bars, has_new_bar):
                pass

    [record] = collector.handlers
    assert (record.event, record.attr, record.is_async) == ("barUpdate", "barUpdateEvent", True)
    assert record.name.endswith("Holder.on_bar")
    assert record.source_file == __file__
    assert record.line == Holder.on_bar.__code__.co_firstlineno
    assert record.location == f"{__file__}:{record.line}"


def test_collections_do_not_leak_between_loads():
    def handler(ib, trade):
        pass

    with collecting() as first:
        IBEventRegistry.collect("orderStatus")(handler)
    with collecting() as second:
        pass

    assert len(first.handlers) == 1
    assert second.handlers == []
