"""How the REST API refuses: domain errors and FastAPI's validation errors as one JSON shape.

Every refusal is `{"error": {"code": ..., "message": ..., "field": ...}}` with the status it belongs
to. The mapping lives in a route class of the API router, so NiceGUI's pages keep FastAPI's defaults.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from potrack.api_schemas import ErrorBody
from potrack.errors import (
    Conflict,
    InsufficientBalance,
    InvalidInput,
    NeedsConfirmation,
    NotAllowed,
    NotFound,
    NotSaved,
    PotrackError,
    SignedOut,
)

log = logging.getLogger(__name__)

# Most specific first: InsufficientBalance and InvalidFields are subclasses.
STATUS: list[tuple[type[PotrackError], int, str]] = [
    (InsufficientBalance, 409, 'insufficient_balance'),
    (InvalidInput, 422, 'invalid_input'),
    (NotAllowed, 403, 'not_allowed'),
    (NotFound, 404, 'not_found'),
    (Conflict, 409, 'conflict'),
    (NeedsConfirmation, 409, 'conflict'),
    (SignedOut, 401, 'unauthorized'),
    (NotSaved, 503, 'not_saved'),
]


def error_response(status: int, code: str, message: str, field: str | None = None, **headers: str) -> JSONResponse:
    body = {'error': {'code': code, 'message': message, 'field': field}}
    return JSONResponse(body, status_code=status, headers=headers or None)


def domain_error_response(exc: PotrackError) -> JSONResponse:
    for kind, status, code in STATUS:
        if isinstance(exc, kind):
            if status == 401:
                return error_response(status, code, exc.message, exc.field, **{'WWW-Authenticate': 'Bearer'})
            return error_response(status, code, exc.message, exc.field)
    return error_response(422, 'invalid_input', exc.message, exc.field)


def validation_error_response(exc: RequestValidationError) -> JSONResponse:
    """FastAPI's list of problems as one sentence naming the first, plus the field it concerns."""
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get('loc', ()) if p not in ('body', 'query', 'header', 'path')]
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
                    return error_response(422, 'invalid_input', 'The request body is not valid JSON text.')
                raise

        return handle


def _doc(description: str) -> dict[str, Any]:
    return {'model': ErrorBody, 'description': description}


# What every endpoint can answer besides success, for the OpenAPI schema (and schemathesis' checks).
COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _doc('No API token, or an unknown or revoked one, or its user is deactivated.'),
    403: _doc("The token's user may not do this or see that work center."),
    413: _doc('The request body is larger than the API accepts.'),
    422: _doc('The request is not valid; the message says why.'),
    503: _doc('The database did not answer; nothing was written.'),
}
NOT_FOUND = {404: _doc('A work center or other record named in the request does not exist.')}
CONFLICT = {409: _doc('Not enough pieces for an OUT, or the Idempotency-Key was used for a different movement.')}
