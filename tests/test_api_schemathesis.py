"""Schemathesis against the API's own OpenAPI schema: generated requests never get a 5xx, and every
response (status code, content type, headers, body) matches what the schema promises.

The API runs on a plain FastAPI app built by the same `install()` as the real one (routes, middleware),
so this needs no NiceGUI page machinery; the database is a fresh SQLite file per API operation.
Bounded: a few dozen examples per operation, well under a minute in all.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import checks

from potrack import api_app
from potrack.api_tokens import issue_token
from potrack.db import Database
from potrack.ledger import record_movement

app = FastAPI()
api_app.install(app)
schema = schemathesis.openapi.from_asgi('/api/v1/openapi.json', app)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


@pytest.fixture
def auth(sqlite_db: Database, admin, make_user, wc) -> Iterator[dict[str, str]]:
    """An operator's token, with some movements in and out of its department to read back."""
    anita = make_user('anita')
    for code, order in (('WC001', 'PO-S1'), ('WC002', 'PO-S2'), ('WC005', 'PO-HIDDEN')):
        record_movement(admin, work_center_id=wc(code), order_number=order, quantity=5, movement_type='IN')
    token = issue_token(admin, user_id=anita.user_id, name='schemathesis').token
    yield {'Authorization': f'Bearer {token}'}


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_keeps_its_schema_and_never_fails_with_5xx(case: schemathesis.Case, auth: dict[str, str]) -> None:
    headers = dict(case.headers or {})
    if 'Authorization' not in headers:  # the generator may try its own credentials; give most cases ours
        headers.update(auth)
    case.call_and_validate(headers=headers, checks=CHECKS)
