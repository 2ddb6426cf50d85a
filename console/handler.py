"""The web process's ASGI handler for HTTP: Django's, with the middleware chain run in sync mode.

Every middleware here and every view is synchronous. Django's ASGI handler runs the chain in async
mode, so each middleware's request and response halves, and the view, cross from the event loop to a
worker thread and back (a thread hop each, ~0.5 ms apiece on a small machine). This handler builds the
chain in sync mode and enters it once: the whole request runs in one thread, as under WSGI, with the
same per-request thread Django's ASGI handler gives thread-sensitive code. An async view still works
(Django adapts it), at the cost of one hop of its own. bench/web_overhead.py measures the difference.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
