"""Alerts from senders that cannot set headers (TradingView): token in the body, enqueue only.

TradingView posts the alert message as `text/plain`; the body is read as JSON whatever the content type,
and a message that is not JSON is a 400 in the error shape. With `"intent": "place_order"` an alert
places an order; the docs' template (docs/API.md) fills the parameters from TradingView's placeholders.
"""

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
        'Body: `{"token": "ibc_…", "intent": "close_all", "alert_id": "…", "params": {…}}`, as JSON or as the '
        '`text/plain` TradingView sends. To trade from an alert: `"intent": "place_order"` with its parameters '
        '(numbers may be strings, actions lower-case: `{"symbol": "{{ticker}}", "action": '
        '"{{strategy.order.action}}", "quantity": "{{strategy.order.contracts}}"}`). '
        "Answers at once (never waits); the same `alert_id` returns the same run."
    ),
)
def webhook(request, alert: WebhookIn):
    submitted = webhook_submit(alert)
    return Status(submitted.status_code, submitted.run)
