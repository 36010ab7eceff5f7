"""The REST API and /metrics as an app of their own, served in front of NiceGUI's FastAPI app."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.types import ASGIApp, Receive, Scope, Send

from potrack.accounts import tokens
from potrack.api.errors import ApiRoute, install_handlers
from potrack.api.fast import FastMovements, is_fast_request
from potrack.api.middleware import API_PREFIX, BodyLimitMiddleware, LatencyMiddleware
from potrack.api.order_routes import router as order_router
from potrack.api.routes import bearer, offload
from potrack.api.routes import router as api_router
from potrack.common import metrics
from potrack.common.http_headers import SecurityHeaders
from potrack.errors import SignedOut

PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
API_DESCRIPTION = (
    'Record IN/OUT movements and read balances, movements and work centers of potrack. '
    'Authenticate with `Authorization: Bearer pt_...`, a token an admin issues in the Admin page; a request '
    "acts as the token's user, within that user's department. Refusals are "
    '`{"error": {"code", "message", "field"}}`.'
)
# ApiRoute: a database outage while checking a token answers 503 JSON (not_saved), a failure 500 JSON.
metrics_router = APIRouter(route_class=ApiRoute)
_schema: dict[str, Any] | None = None


def is_local(host: str | None) -> bool:
    # Behind a proxy uvicorn puts the forwarded client address here (forwarded_allow_ips), so a
    # request through nginx from elsewhere is not local, as long as nginx sets X-Forwarded-For.
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@metrics_router.get('/metrics', include_in_schema=False)
async def metrics_endpoint(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> PlainTextResponse:
    if not is_local(request.client.host if request.client else None):
        try:
            # Not cached: no service re-checks the caller after this, the answer alone grants the figures.
            token = credentials.credentials if credentials else None
            caller = await offload(tokens.authenticate, token, cached=False)
        except SignedOut:
            return PlainTextResponse('metrics: loopback address or an admin API token only\n', status_code=401)
        if not caller.is_admin:
            return PlainTextResponse('metrics: an admin API token is needed\n', status_code=403)
    return PlainTextResponse(metrics.exposition(), media_type=PROMETHEUS_CONTENT_TYPE)


@metrics_router.get('/api/v1/openapi.json', include_in_schema=False)
async def openapi_schema() -> JSONResponse:
    """The API's own schema: only /api/v1, not the pages and NiceGUI's internals on the same app."""
    global _schema
    if _schema is None:
        _schema = get_openapi(
            title='potrack API',
            version='1',
            description=API_DESCRIPTION,
            routes=[*api_router.routes, *order_router.routes],
            servers=[{'url': '/'}],
        )
    return JSONResponse(_schema)


class ApiFirst:
    """In front of NiceGUI's whole stack: /api/ and /metrics go straight to the API's own app.

    NiceGUI wraps every request in its page middlewares (session cookie, request tracking, gzip, cache
    headers, some of them BaseHTTPMiddleware), which cost an API call more server time than the ledger
    write it asked for (bench/api.py). The API needs none of them.
    """

    def __init__(self, app: ASGIApp, api: ASGIApp) -> None:
        self.app = app
        self.api = api
        # The hot path (potrack.api.fast), within the same body limit; the rest of the API behind it.
        self.fast = BodyLimitMiddleware(FastMovements(api))  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get('path', '') if scope['type'] == 'http' else ''
        if path.startswith(API_PREFIX) or path == '/metrics':
            target = self.fast if is_fast_request(scope) else self.api
        else:
            target = self.app
        await target(scope, receive, send)


def api_app() -> FastAPI:
    """The API's own FastAPI app: its routes, /metrics, its error shape and body limit; no page middleware."""
    # FastAPI's OpenTelemetry hooks off: /metrics is potrack's own, and checking them cost every request.
    quiet: Any = {'tracing': False, 'metrics': False, 'logs': False, 'operation_spans': False}
    api = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, telemetry=quiet)
    api.include_router(api_router)
    api.include_router(order_router)
    api.include_router(metrics_router)
    install_handlers(api, [*api_router.routes, *order_router.routes, *metrics_router.routes])
    api.add_middleware(BodyLimitMiddleware)  # type: ignore[arg-type]
    return api


def install(app: FastAPI) -> None:
    """Put the API in front of `app` (NiceGUI's), with request latency and security headers for both (before the start).

    NiceGUI adds its own middleware in ui.run, after this, so the API is placed around the finished stack
    rather than added as a middleware. Safe to call again on the same app (the test fixture does).
    """
    api = api_app()
    build = getattr(app, '_potrack_build_stack', None) or app.build_middleware_stack
    app._potrack_build_stack = build  # type: ignore[attr-defined]
    app.build_middleware_stack = lambda: SecurityHeaders(  # type: ignore[method-assign]
        LatencyMiddleware(ApiFirst(build(), api)), strict_paths=(API_PREFIX, '/metrics')
    )
    app.middleware_stack = None  # built again on the next request
