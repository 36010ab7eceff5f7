"""POST /api/v1/movements for well-formed requests as a plain ASGI handler: the API's hot path.

Scanners and PLC counters send hundreds of movements a second. FastAPI's routing, middleware, dependency
solving and response model cost about 0.18 ms of the instance's CPU per request (bench/api.py): as much
as a fifth of a recorded movement, in the one thread every page and kiosk of the instance also needs.
This handler answers the common case itself: a JSON body that MovementIn accepts, a Bearer token. It
records through the same `api.record_via_api` as the FastAPI route, and answers in the same shapes.

Everything else goes on, body and all, to the FastAPI app: a body MovementIn refuses, another content
type, a missing or malformed Authorization header. So the refusals of bad requests are FastAPI's own,
exactly as documented, and the route in potrack.api stays the contract the OpenAPI schema shows.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from pydantic import ValidationError

from potrack.api.errors import INTERNAL_ERROR_MESSAGE, domain_error_response, error_response
from potrack.api.routes import MOVEMENTS_PATH, record_via_api
from potrack.api.schemas import MovementIn
from potrack.errors import PotrackError

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_TYPES = (b'application/json', b'application/json; charset=utf-8')


def is_fast_request(scope: Scope) -> bool:
    return scope['type'] == 'http' and scope['method'] == 'POST' and scope['path'] == MOVEMENTS_PATH


def _headers(scope: Scope) -> tuple[bytes | None, bytes | None, bytes | None]:
    """The Authorization, Idempotency-Key and Content-Type headers (the first of each)."""
    auth = key = kind = None
    for name, value in scope['headers']:
        if name == b'authorization' and auth is None:
            auth = value
        elif name == b'idempotency-key' and key is None:
            key = value
        elif name == b'content-type' and kind is None:
            kind = value
    return auth, key, kind


def _token(auth: bytes | None) -> str | None:
    """The token of `Bearer <token>`, or None for anything the FastAPI route should judge."""
    if auth is None:
        return None
    scheme, _, token = auth.partition(b' ')
    if scheme.lower() != b'bearer' or not token or b' ' in token:
        return None
    return token.decode('latin-1')  # as Starlette decodes headers; every byte is a latin-1 character


async def _body(receive: Receive) -> tuple[bytes, list[Message]]:
    """The whole request body, and the messages it came in (to hand on unchanged)."""
    chunks: list[bytes] = []
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message['type'] != 'http.request':
            break
        chunks.append(message.get('body', b''))
        if not message.get('more_body', False):
            break
    return b''.join(chunks), messages


class FastMovements:
    """POST /api/v1/movements answered here when well-formed; anything else handed on to `fallback`."""

    def __init__(self, fallback: ASGIApp) -> None:
        self.fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        auth, key_header, kind = _headers(scope)
        token = _token(auth)
        body, messages = await _body(receive)
        movement: MovementIn | None = None
        if token is not None and kind is not None and kind.lower() in JSON_TYPES:
            try:
                movement = MovementIn.model_validate_json(body)
            except ValidationError:
                movement = None
        if movement is None:
            await self.fallback(scope, _replay(messages, receive), send)
            return
        try:
            key = None if key_header is None else key_header.decode('latin-1')
            status, out = await record_via_api(token, movement, key)  # type: ignore[arg-type]
        except PotrackError as exc:
            await domain_error_response(exc)(scope, receive, send)
            return
        except Exception:
            log.exception('POST %s failed', MOVEMENTS_PATH)
            await error_response(500, 'internal_error', INTERNAL_ERROR_MESSAGE)(scope, receive, send)
            return
        payload = out.model_dump_json().encode()
        headers = [(b'content-length', str(len(payload)).encode()), (b'content-type', b'application/json')]
        await send({'type': 'http.response.start', 'status': status, 'headers': headers})
        await send({'type': 'http.response.body', 'body': payload})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay
