import pytest

from trading.activity import activity_record
from trading.models import ActivityEntry, ActivityKind
from trading.models.activity import AppendOnlyError

pytestmark = pytest.mark.django_db


def test_the_activity_log_is_append_only():
    entry = activity_record(kind=ActivityKind.WORKER, message="started")
    entry.message = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert ActivityEntry.objects.get().message == "started"
