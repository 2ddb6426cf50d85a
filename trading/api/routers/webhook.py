"""Alerts from senders that cannot set headers (TradingView): token in the body, enqueue only."""

from ninja import Router, Status

from trading.api.responses import responses
from trading.api.schemas import RunOut, WebhookIn
from trading.api.submission import webhook_submit

router = Router(tags=["webhook"])


@router.post(
    "/webhook",
    auth=None,
    response=responses({200: RunOut, 202: RunOut}, 400, 404, 409, 503, authenticated=True),
    summary="Submit an intent from an alert",
    description=(
        'Body: `{"token": "ibc_…", "intent": "close_all", "alert_id": "…", "params": {…}}`. '
        "Answers at once (never waits); the same `alert_id` returns the same run."
    ),
)
def webhook(request, alert: WebhookIn):
    submitted = webhook_submit(alert)
    return Status(submitted.status_code, submitted.run)
