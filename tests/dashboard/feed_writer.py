"""Run as a subprocess by the feed test: write `count` activity entries as fast as it can, pushing every
other one to the dashboard as the worker pushes its own (the rest reach the page only by its poll).

    python -m tests.dashboard.feed_writer NAME COUNT
"""

import sys

import django


def main(name: str, count: int) -> None:
    django.setup()
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    from trading.activity import activity_record
    from trading.live import channel_message, live_group
    from trading.models import ActivityKind
    from trading.worker.store import activity_event

    layer = get_channel_layer()
    for index in range(count):
        entry = activity_record(kind=ActivityKind.INTENT_RUN, message=f"{name} entry {index}", mode="paper")
        if index % 2:
            async_to_sync(layer.group_send)(live_group(), channel_message(activity_event(entry)))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
