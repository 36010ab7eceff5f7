"""ASGI middleware of the web app: request latency for /metrics, and a body limit on the REST API.

Both are plain ASGI (no BaseHTTPMiddleware), so websockets pass untouched and responses stream as before.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from potrack.common import metrics

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIX = '/api/'
MAX_BODY_BYTES = 64 * 1024  # a movement is ~100 bytes; nothing the API takes comes near this


def path_group(path: str) -> str:
    """A handful of label values, never the raw path: one time series per URL would grow without bound."""
    if path.startswith(API_PREFIX):
        return 'api'
    if path.startswith('/_nicegui/'):
        return 'nicegui'
    if path in ('/metrics', '/healthz'):
        return path[1:]
    return 'page'


class LatencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http':
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            metrics.request_took(path_group(scope.get('path', '')), time.perf_counter() - started)


async def _too_large(send: Send) -> None:
    body = json.dumps(
        {
            'error': {
                'code': 'body_too_large',
                'message': f'The request body is larger than {MAX_BODY_BYTES // 1024} kB.',
                'field': None,
            }
        }
    ).encode()
    headers = [(b'content-type', b'application/json'), (b'content-length', str(len(body)).encode())]
    await send({'type': 'http.response.start', 'status': 413, 'headers': headers})
    await send({'type': 'http.response.body', 'body': body})


class BodyLimitMiddleware:
    """Refuse API requests whose body exceeds MAX_BODY_BYTES with 413, before anything parses them.

    A declared Content-Length is checked at once; a body without one (chunked) is read up to the limit
    and then handed on unchanged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope['type'] != 'http' or not scope.get('path', '').startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get('headers') or [])
        declared = headers.get(b'content-length')
        if declared is not None:  # the server has already refused a malformed one
            if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
                await _too_large(send)
                return
            await self.app(scope, receive, send)
            return
        buffered: list[Message] = []
        size = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message['type'] != 'http.request':
                break
            size += len(message.get('body', b''))
            if size > MAX_BODY_BYTES:
                await _too_large(send)
                return
            if not message.get('more_body', False):
                break

        async def replay() -> Message:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)
