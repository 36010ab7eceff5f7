"""How the REST API refuses: domain errors, FastAPI's validation errors and its own failures as one JSON shape.

Every refusal is `{"error": {"code": ..., "message": ..., "field": ...}}` with the status it belongs
to. Within a route the mapping lives in a route class of the API router; an unknown path or a wrong
method under /api/ never reaches a route, so `install_handlers` puts API-first exception handlers on
the app that leave every other path to NiceGUI's and FastAPI's own (HTML pages stay HTML pages).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route

from potrack.api.gate import Busy
from potrack.api.middleware import API_PREFIX
from potrack.api.schemas import ErrorBody
from potrack.common.validation import shown
from potrack.errors import (
    Conflict,
    InsufficientBalance,
    InvalidInput,
    NeedsConfirmation,
    NotAllowed,
    NotFound,
    NotSaved,
    OrderNotOpen,
    OutcomeUnknown,
    PotrackError,
    SignedOut,
    UnknownOrder,
)

log = logging.getLogger(__name__)

# Most specific first: InsufficientBalance, InvalidFields, UnknownOrder, OrderNotOpen and OutcomeUnknown are
# subclasses.
STATUS: list[tuple[type[PotrackError], int, str]] = [
    (InsufficientBalance, 409, 'insufficient_balance'),
    (InvalidInput, 422, 'invalid_input'),
    (UnknownOrder, 404, 'unknown_order'),  # a NotFound: not in the order book; the policy's sentence says why
    (OrderNotOpen, 409, 'order_not_open'),  # a NotAllowed: closed or cancelled
    (NotAllowed, 403, 'not_allowed'),
    (NotFound, 404, 'not_found'),
    (Conflict, 409, 'conflict'),
    (NeedsConfirmation, 409, 'conflict'),
    (SignedOut, 401, 'unauthorized'),
    (OutcomeUnknown, 503, 'outcome_unknown'),  # a NotSaved: may or may not be saved; the same key is safe
    (Busy, 503, 'busy'),  # a NotSaved: no turn on this balance row in time; with Retry-After
    (NotSaved, 503, 'not_saved'),
]

INTERNAL_ERROR_MESSAGE = (
    'The server failed to answer this request because of an error on its side; it has been logged. '
    'Try again, and tell an administrator if it keeps happening.'
)
NOT_JSON_MESSAGE = 'The request body is not valid JSON text.'
ExceptionHandler = Callable[[Request, Exception], Response | Awaitable[Response]]


def error_response(status: int, code: str, message: str, field: str | None = None, **headers: str) -> JSONResponse:
    body = {'error': {'code': code, 'message': message, 'field': field}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def domain_error_response(exc: PotrackError) -> JSONResponse:
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            if status == 401:
                return error_response(status, code, exc.message, exc.field, **{'WWW-Authenticate': 'Bearer'})
            if isinstance(exc, Busy):
                return error_response(status, code, exc.message, exc.field, **{'Retry-After': str(exc.retry_after_s)})
            return error_response(status, code, exc.message, exc.field)
    return error_response(422, 'invalid_input', exc.message, exc.field)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's list of problems as one sentence naming the first, plus the field it concerns."""
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    if first.get('type') == 'json_invalid':  # its loc holds the character position, not a field
        return error_response(422, 'invalid_input', NOT_JSON_MESSAGE)
    # Names only: a number in a loc is a position (in a list, or in the text), which names no input.
    loc = [p for p in first.get('loc', ()) if isinstance(p, str) and p not in ('body', 'query', 'header', 'path')]
    field = '.'.join(loc) or None
    what = str(first.get('msg', 'The request is not valid.'))
    message = f'{field}: {what}' if field else what
    if len(errors) > 1:
        message += f' (and {len(errors) - 1} more problem{"s" if len(errors) > 2 else ""})'
    return error_response(422, 'invalid_input', message, field)


class ApiRoute(APIRoute):
    """A route whose refusals come back in the API's error shape instead of FastAPI's defaults."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return validation_error_response(exc)
            except PotrackError as exc:
                return domain_error_response(exc)
            except HTTPException as exc:
                if exc.status_code == 400:  # FastAPI could not even read the body (not UTF-8, not JSON)
                    return error_response(422, 'invalid_input', NOT_JSON_MESSAGE)
                raise
            except Exception:
                log.exception('%s %s failed', request.method, request.url.path)
                return error_response(500, 'internal_error', INTERNAL_ERROR_MESSAGE)

        return handle


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIX)


def not_found_response(request: Request, exc: Exception) -> Response:
    path = shown(request.url.path, 80)
    return error_response(404, 'not_found', f'The API has nothing at {path}; /api/v1/openapi.json lists what it has.')


def allowed_methods(routes: Sequence[BaseRoute], path: str) -> list[str]:
    """Every method some route takes at `path` (Starlette's own 405 names only the first route's)."""
    found = {m for r in routes if isinstance(r, Route) and r.path_regex.match(path) for m in r.methods or ()}
    return sorted(found)


def method_not_allowed(routes: Sequence[BaseRoute]) -> Callable[[Request, Exception], Response]:
    def answer(request: Request, exc: Exception) -> Response:
        allowed = allowed_methods(routes, request.url.path)
        path, method = shown(request.url.path, 80), shown(request.method, 10)
        named = ', '.join(allowed)
        message = f'{path} does not take {method}' + (f'; it takes {named}.' if named else '.')
        headers = {'Allow': named} if named else {}
        return error_response(405, 'method_not_allowed', message, **headers)

    return answer


def internal_error_response(request: Request, exc: Exception) -> Response:
    # Reached only outside a route (a route's own failures are answered by ApiRoute). The server logs
    # the traceback: Starlette raises the exception on after this response is sent.
    return error_response(500, 'internal_error', INTERNAL_ERROR_MESSAGE)


class ApiFirstHandler:
    """An app exception handler: API paths get the API's error shape, every other path `fallback`."""

    def __init__(self, answer: Callable[[Request, Exception], Response], fallback: ExceptionHandler | None) -> None:
        self.answer = answer
        self.fallback = fallback

    async def __call__(self, request: Request, exc: Exception) -> Response:
        if is_api_path(request.url.path):
            return self.answer(request, exc)
        if self.fallback is None:
            raise exc  # no handler before ours: Starlette's own plain 500
        response = self.fallback(request, exc)
        return await response if inspect.isawaitable(response) else response


def install_handlers(app: FastAPI, routes: Sequence[BaseRoute]) -> None:
    """Answer an unknown path (404), a wrong method (405) and an unexpected failure (500) under /api/
    in the API's shape; other paths keep the handlers they had (NiceGUI's 404 page, FastAPI's defaults).
    `routes` are the API's, for the methods a 405 names.

    Safe to call again on the same app (NiceGUI's test fixture sets the app up once per test).
    """
    answers: dict[int | type[Exception], Callable[[Request, Exception], Response]] = {
        404: not_found_response,
        405: method_not_allowed(routes),
        Exception: internal_error_response,
    }
    for key, answer in answers.items():
        current = app.exception_handlers.get(key)
        if isinstance(current, ApiFirstHandler):
            current = current.fallback
        if current is None and isinstance(key, int):
            current = app.exception_handlers.get(HTTPException, http_exception_handler)
        app.add_exception_handler(key, ApiFirstHandler(answer, current))


def _doc(description: str) -> dict[str, Any]:
    return {'model': ErrorBody, 'description': description}


# What every endpoint can answer besides success, for the OpenAPI schema (and schemathesis' checks).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _doc('No API token, or an unknown or revoked one, or its user is deactivated.'),
    403: _doc("The token's user may not do this or see that work center."),
    413: _doc('The request body is larger than the API accepts.'),
    422: _doc('The request is not valid; the message says why.'),
    500: _doc('An unexpected error on the server; it is logged.'),
    503: _doc('The database did not answer; nothing was written.'),
}
NOT_FOUND = {404: _doc('A work center or other record named in the request does not exist.')}
CONFLICT = {409: _doc('Not enough pieces for an OUT, or the Idempotency-Key was used for a different movement.')}
# The 503s of recording a movement: a write has one more (busy), and can end in doubt (outcome_unknown).
BUSY: dict[int | str, dict[str, Any]] = {
    503: {
        **_doc(
            '`not_saved`: the database did not answer or stayed busy; nothing was written. '
            '`busy`: another movement of the same order at the same work center was still being recorded on '
            'this server after POTRACK_API_TURN_WAIT_MS (5 s by default); nothing was written, send it again '
            'after Retry-After seconds. `outcome_unknown`: the connection broke while committing; it may be '
            'saved, and sending it again with the same Idempotency-Key records it once.'
        ),
        'headers': {
            'Retry-After': {
                'description': 'With `busy`: seconds to wait before sending the movement again.',
                'schema': {'type': 'integer', 'minimum': 1},
            }
        },
    }
}
