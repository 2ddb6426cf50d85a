"""From an activity entry to a message at a local HTTP receiver (apprise's json://), rate-limited,
retried, recorded — driven through an injected clock, never sleeps."""

import pytest

from tests.notify.factories import fill, refused
from trading.models import NotifyKind, NotifySend, SendStatus
from trading.notify.outbox import MAX_ATTEMPTS
from trading.notify.tasks import notify_step

pytestmark = pytest.mark.django_db


def test_it_sends_a_fill_from_the_activity_log_to_the_receiver(notify_urls, receiver, clock):
    fill(side="BUY", shares="10", price="400.25")

    assert notify_step(now=clock.now) == 1

    [payload] = receiver.received
    assert payload["title"] == "Fill [paper]: BUY 10 SPY @ 400.25"
    assert payload["message"].startswith("fill: BUY 10 SPY @ 400.25 (exec 0001.")
    assert payload["type"] == "info"
    send = NotifySend.objects.get()
    assert (send.kind, send.status, send.attempts, send.error) == (NotifyKind.FILL, SendStatus.SENT, 1, "")
    assert send.target_label == f"NOTIFY_URLS #1 json://127.0.0.1:{receiver.port}/…"


def test_it_never_sends_an_entry_twice(notify_urls, receiver, clock):
    fill()
    notify_step(now=clock.now)
    notify_step(now=clock.advance(60))
    notify_step(now=clock.advance(60))
    assert len(receiver.received) == 1
    assert NotifySend.objects.count() == 1


def test_a_burst_becomes_one_summary_message(notify_urls, receiver, clock):
    for shares in ("1", "2", "3", "4", "5"):
        fill(shares=shares)

    notify_step(now=clock.now)

    [payload] = receiver.received
    assert payload["title"] == "5 fills: BUY 1 SPY @ 400.25; BUY 2 SPY @ 400.25; BUY 3 SPY @ 400.25; …"
    assert payload["message"].splitlines() == [f"• BUY {n} SPY @ 400.25" for n in range(1, 6)]


def test_at_most_one_message_per_kind_per_target_per_ten_seconds(notify_urls, receiver, clock):
    fill(shares="1")
    notify_step(now=clock.now)
    assert len(receiver.received) == 1

    fill(shares="2")
    notify_step(now=clock.advance(2))
    refused()  # another kind is not held back by the fills' window
    fill(shares="3")
    notify_step(now=clock.advance(2))
    assert [p["title"] for p in receiver.received][1:] == [
        "Order rejected [paper]: refused: BUY 1 SPY MKT — trading is stopped (kill switch)"
    ]

    notify_step(now=clock.advance(5.9))  # 9.9 s after the first fill message
    assert len(receiver.received) == 2

    notify_step(now=clock.advance(0.1))  # the window opens: the two held fills go as one message
    assert receiver.received[2]["title"] == "2 fills: BUY 2 SPY @ 400.25; BUY 3 SPY @ 400.25"
    sent = NotifySend.objects.filter(kind=NotifyKind.FILL).order_by("sent_at")
    assert (sent[1].sent_at - sent[0].sent_at).total_seconds() == 10


def test_a_failing_receiver_is_retried_with_backoff_until_it_answers(notify_urls, receiver, clock):
    receiver.fail_next = 2
    fill()

    notify_step(now=clock.now)
    send = NotifySend.objects.get()
    assert (send.status, send.attempts) == (SendStatus.PENDING, 1)
    assert send.error  # what apprise said, recorded
    notify_step(now=clock.advance(9))  # backoff after the first failure: 10 s
    assert receiver.refused == 1
    notify_step(now=clock.advance(1))
    assert receiver.refused == 2
    notify_step(now=clock.advance(19))  # second backoff: 20 s
    assert receiver.received == []
    notify_step(now=clock.advance(1))

    send.refresh_from_db()
    assert (send.status, send.attempts, send.error) == (SendStatus.SENT, 3, "")
    assert [p["title"] for p in receiver.received] == ["Fill [paper]: BUY 10 SPY @ 400.25"]


def test_it_gives_up_after_a_bounded_number_of_attempts(notify_urls, receiver, clock):
    receiver.fail_next = 100
    fill()
    for _ in range(MAX_ATTEMPTS + 3):
        notify_step(now=clock.advance(600))
    send = NotifySend.objects.get()
    assert (send.status, send.attempts) == (SendStatus.FAILED, MAX_ATTEMPTS)
    assert receiver.refused == MAX_ATTEMPTS
