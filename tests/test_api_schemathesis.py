"""Schemathesis against the API's own OpenAPI schema: generated requests never get a 5xx, and every
response (status code, content type, headers, body) matches what the schema promises.

The API runs on a plain FastAPI app built by the same `install()` as the real one (routes, middleware),
so this needs no NiceGUI page machinery. It runs on SQLite and, when POTRACK_TEST_DATABASE_URL is set,
on PostgreSQL, which refuses some text SQLite takes (a NUL character); the database is fresh per API
operation. Bounded: a few dozen examples per operation, a few seconds per database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.schemas import APIOperation

from potrack.accounts.tokens import issue_token
from potrack.api import asgi
from potrack.db import Database
from potrack.ledger.writer import record_movement

app = FastAPI()
asgi.install(app)
schema = schemathesis.openapi.from_asgi('/api/v1/openapi.json', app)
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    # A request the schema calls valid is never refused (400/422): the schema declares every limit the API
    # enforces. A 401, 403, 404 or 409 is about the data (a hidden or unknown work center), not the form.
    checks.positive_data_acceptance,
]
# Random generation seldom puts these into a search text, though a scanner or a paste sends them easily;
# PostgreSQL refuses a NUL in any string, so each is tried in every free-text parameter on purpose.
AWKWARD_TEXTS = ['\x00', 'PO\x00X', 'PO-S1\x00', '\x01\t\n\x1f\x7f', '%_\\']


def is_free_text(spec: dict[str, Any]) -> bool:
    """Any text: not a choice, a date or a number."""
    return spec.get('type') == 'string' and 'enum' not in spec and 'format' not in spec


def free_text_parameters(operation: APIOperation) -> list[tuple[str, bool]]:
    """The query parameters a search text or a code goes into, each with whether it is a list."""
    found = []
    for parameter in operation.query:
        spec = parameter.definition.get('schema', {})
        if is_free_text(spec) or (spec.get('type') == 'array' and is_free_text(spec.get('items', {}))):
            found.append((parameter.name, spec.get('type') == 'array'))
    return found


FREE_TEXT = [
    (operation.label, name, is_list)
    for operation in (result.ok() for result in schema.get_all_operations())
    for name, is_list in free_text_parameters(operation)
]


@pytest.fixture
def auth(db: Database, admin, make_user, wc) -> Iterator[dict[str, str]]:
    """An operator's token, with some movements in and out of its department to read back."""
    anita = make_user('anita')
    for code, order in (('WC001', 'PO-S1'), ('WC002', 'PO-S2'), ('WC005', 'PO-HIDDEN')):
        record_movement(admin, work_center_id=wc(code), order_number=order, quantity=5, movement_type='IN')
    token = issue_token(admin, user_id=anita.user_id, name='schemathesis').token
    yield {'Authorization': f'Bearer {token}'}


@pytest.fixture
def erp_auth(db: Database, admin) -> dict[str, str]:
    """An admin's token, as an ERP putting orders into the book has."""
    return {'Authorization': f'Bearer {issue_token(admin, user_id=admin.user_id, name="erp").token}'}


def whole_numbers_as_integers(body: Any) -> Any:
    """A body's whole floats as the integers they stand for.

    JSON Schema 2020-12 counts 2.0 as an integer, and schemathesis sends one on purpose. The API takes an
    integer only as JSON writes it (2.0 and 1e3 are refused: tests/test_api_strict.py), which no JSON Schema
    keyword can say; the schema's description says it in words.
    """
    if isinstance(body, dict):
        return {k: whole_numbers_as_integers(v) for k, v in body.items()}
    if isinstance(body, list):
        return [whole_numbers_as_integers(v) for v in body]
    return int(body) if isinstance(body, float) and body.is_integer() else body


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_the_api_keeps_its_schema_and_never_fails_with_5xx(
    case: schemathesis.Case, auth: dict[str, str], erp_auth: dict[str, str]
) -> None:
    headers = dict(case.headers or {})
    if 'Authorization' not in headers:  # the generator may try its own credentials; give most cases ours
        writes_orders = case.method.upper() == 'POST' and case.path == '/api/v1/orders'
        headers.update(erp_auth if writes_orders else auth)
    case.body = whole_numbers_as_integers(case.body)
    case.call_and_validate(headers=headers, checks=CHECKS)


@pytest.mark.parametrize(('label', 'parameter', 'is_list'), FREE_TEXT)
@pytest.mark.parametrize('text', AWKWARD_TEXTS)
def test_control_characters_in_search_text_never_fail_with_5xx(
    label: str, parameter: str, is_list: bool, text: str, auth: dict[str, str]
) -> None:
    method, path = label.split(' ', 1)
    case = schema[path][method].Case(query={parameter: [text] if is_list else text})
    case.call_and_validate(headers=auth, checks=CHECKS)
