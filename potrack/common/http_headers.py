"""Security headers on every HTTP answer: pages, static assets, /healthz, the REST API and /metrics.

One plain ASGI middleware (no BaseHTTPMiddleware, no nicegui), put around the whole stack once by
`potrack.api.asgi.install`, so that the API's own app and NiceGUI's app behind it answer alike.
Websockets and lifespan pass untouched.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from potrack.config import settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The pages' policy: as strict as NiceGUI 3 lets a page work. Every source is this origin; each
# relaxation below was found by loading every page in headless Chromium and reading its console
# for CSP violations (tests/browser/test_csp.py keeps it that way): without it, pages stay blank
# (scripts) or lose their layout (styles).
PAGE_CSP = '; '.join(
    [
        "default-src 'self'",
        # 'unsafe-inline': NiceGUI writes each page's start-up code (the import map, the element tree,
        #   `createApp`) into inline <script> tags of its template, without a nonce or a stable hash.
        # 'unsafe-eval': Vue compiles the elements' templates in the browser (`new Function`), and
        #   `ui.run_javascript` (the idle timer's start, navigation, AG Grid calls) runs code by eval.
        "script-src 'self' 'unsafe-inline' 'unsafe-eval'",
        # 'unsafe-inline': Quasar and Vue set style attributes and inject <style> elements, NiceGUI's
        #   template has inline <style> blocks, and `.style(...)` ends up as a style attribute.
        "style-src 'self' 'unsafe-inline'",
        # Images, fonts (Material icons, Roboto) and workers come from this origin: default-src covers them.
        # No data: either: no page of potrack needs it (tests/browser/test_csp.py would say).
        # 'self' covers the socket.io websocket (ws:/wss: to this host) and its polling fallback.
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",  # no page posts a form elsewhere (input travels over the websocket)
        "frame-ancestors 'none'",
    ]
)
# The API's JSON and /metrics' text are never rendered as a document: nothing may load from them.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
HSTS = 'max-age=31536000'  # one year; no includeSubDomains: other hosts of the domain are not ours to pin

Headers = list[tuple[bytes, bytes]]


def _headers(strict: bool, https: bool) -> Headers:
    return [
        (b'content-security-policy', (API_CSP if strict else PAGE_CSP).encode()),
        (b'x-frame-options', b'DENY'),  # frame-ancestors for browsers that predate it
        (b'x-content-type-options', b'nosniff'),
        (b'referrer-policy', b'same-origin'),
        *([(b'strict-transport-security', HSTS.encode())] if https else []),
    ]


class SecurityHeaders:
    """Adds the headers to each HTTP answer's start; a header the answer already sets is left alone.

    `strict_paths`: path prefixes answered with the API's stricter policy (the REST API and /metrics).
    Strict-Transport-Security only with POTRACK_HTTPS=true: over plain HTTP it would tell a browser to
    refuse the site once it is reachable by HTTPS at the same name, and browsers ignore it there anyway.
    """

    def __init__(self, app: ASGIApp, strict_paths: tuple[str, ...] = ()) -> None:
        self.app = app
        self.strict_paths = strict_paths
        self._sets = {(strict, https): _headers(strict, https) for strict in (False, True) for https in (False, True)}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        extra = self._sets[(scope.get('path', '').startswith(self.strict_paths), settings().https)]

        async def send_with_headers(message: Message) -> None:
            if message['type'] == 'http.response.start':
                headers = list(message.get('headers', ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message['headers'] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
