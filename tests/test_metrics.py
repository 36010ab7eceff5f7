"""GET /metrics: Prometheus text with movements, sign-ins, live clients and latency; local or admin token only."""

from __future__ import annotations

import math
import re

import httpx
import pytest
from nicegui import app
from nicegui.testing import User
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from potrack.accounts.signin import SignInFailed, sign_in
from potrack.accounts.tokens import issue_token
from potrack.app import live_clients
from potrack.common import metrics
from potrack.db import Database, use_database
from potrack.errors import InsufficientBalance
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.writer import record_movement
from tests.api_helpers import bearer, error_of
from tests.conftest import TEST_PASSWORD

LABEL = r'[a-z_]+="(?:[^"\\]|\\.)*"'
SAMPLE_RE = re.compile(rf'^[a-z_]+(\{{{LABEL}(,{LABEL})*\}})? ([-+0-9.e]+|nan|NaN)$')


def value(text: str, sample: str) -> float:
    for line in text.splitlines():
        if line.startswith(sample + ' '):
            return float(line.rsplit(' ', 1)[1])
    return 0.0


def remote_client() -> httpx.AsyncClient:
    """A client whose requests come from another machine (as uvicorn reports a forwarded address)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app, client=('10.1.2.3', 4567)), base_url='http://test')


def families(text: str | None = None) -> dict[str, Metric]:
    """/metrics' text as Prometheus reads it, by family name (a counter's family name drops `_total`)."""
    text = metrics.exposition().decode() if text is None else text
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_exposition_parses_and_holds_every_metric() -> None:
    metrics.request_took('healthz', 0.02)
    text = metrics.exposition().decode()
    found = families()
    kinds = {name: family.type for name, family in found.items()}
    assert kinds == {
        'potrack_movements_recorded': 'counter',
        'potrack_movements_refused': 'counter',
        'potrack_signins': 'counter',
        'potrack_http_request_duration_seconds': 'histogram',
        'potrack_live_clients': 'gauge',
    }  # and nothing else: no `_created` series, no process collectors
    for name in (metrics.MOVEMENTS_RECORDED, metrics.MOVEMENTS_REFUSED, metrics.SIGNINS):
        assert f'# TYPE {name} counter' in text
    bounds = [
        float(sample.labels['le'])
        for sample in found['potrack_http_request_duration_seconds'].samples
        if sample.name.endswith('_bucket') and sample.labels['path'] == 'healthz'
    ]
    assert bounds == [*metrics.LATENCY_BUCKETS_S, math.inf]
    for line in text.splitlines():
        assert line.startswith('# ') or SAMPLE_RE.match(line), line


def test_live_clients_are_read_at_scrape_time_and_a_broken_reader_is_nan() -> None:
    try:
        metrics.watch_live_clients(lambda: 3)
        assert families()['potrack_live_clients'].samples[0].value == 3
        metrics.watch_live_clients(lambda: 1 / 0)
        assert math.isnan(families()['potrack_live_clients'].samples[0].value)
    finally:
        metrics.watch_live_clients(live_clients)


def test_ledger_and_signin_feed_the_counters(db: Database, admin, make_user, wc) -> None:
    reg = metrics.registry
    recorded = reg.value(metrics.MOVEMENTS_RECORDED, {'type': 'IN'})
    reversals = reg.value(metrics.MOVEMENTS_RECORDED, {'type': 'reversal'})
    refused = reg.value(metrics.MOVEMENTS_REFUSED, {'reason': 'InsufficientBalance'})
    ok, failed = reg.value(metrics.SIGNINS, {'outcome': 'succeeded'}), reg.value(metrics.SIGNINS, {'outcome': 'failed'})
    first = record_movement(
        admin, work_center_id=wc('WC001'), order_number='PO-M', quantity=2, movement_type='IN', request_id='m-1'
    )
    record_movement(  # a replay is not a second movement
        admin, work_center_id=wc('WC001'), order_number='PO-M', quantity=2, movement_type='IN', request_id='m-1'
    )
    with pytest.raises(InsufficientBalance):
        record_movement(admin, work_center_id=wc('WC001'), order_number='PO-M', quantity=9, movement_type='OUT')
    reverse_movement(admin, movement_id=first.movement_id, reason='typo')
    make_user('anita')
    sign_in('anita', TEST_PASSWORD, source='test')
    with pytest.raises(SignInFailed):
        sign_in('anita', 'wrong-password', source='test')
    assert reg.value(metrics.MOVEMENTS_RECORDED, {'type': 'IN'}) == recorded + 1
    assert reg.value(metrics.MOVEMENTS_RECORDED, {'type': 'reversal'}) == reversals + 1
    assert reg.value(metrics.MOVEMENTS_REFUSED, {'reason': 'InsufficientBalance'}) == refused + 1
    assert reg.value(metrics.SIGNINS, {'outcome': 'succeeded'}) == ok + 1
    assert reg.value(metrics.SIGNINS, {'outcome': 'failed'}) == failed + 1


async def test_local_requests_read_metrics(user: User, sqlite_db: Database) -> None:
    await user.open('/signin')  # one page connected, and some request latency observed
    response = await user.http_client.get('/metrics')
    assert response.status_code == 200
    assert response.headers['content-type'].startswith('text/plain; version=0.0.4')
    text = response.text
    for name in ('movements_recorded_total', 'movements_refused_total', 'signins_total', 'live_clients'):
        assert f'# TYPE potrack_{name} ' in text
    assert value(text, 'potrack_live_clients') >= 1
    latency = families(text)['potrack_http_request_duration_seconds'].samples
    assert any(s.name.endswith('_bucket') and s.labels == {'path': 'page', 'le': '+Inf'} for s in latency)


async def test_remote_requests_need_an_admin_token(user: User, sqlite_db: Database, admin, make_user) -> None:
    operator = issue_token(admin, user_id=make_user('anita').user_id, name='op').token
    admins = issue_token(admin, user_id=admin.user_id, name='prometheus').token
    async with remote_client() as client:
        assert (await client.get('/metrics')).status_code == 401
        assert (await client.get('/metrics', headers=bearer('pt_nothing'))).status_code == 401
        assert (await client.get('/metrics', headers=bearer(operator))).status_code == 403
        allowed = await client.get('/metrics', headers=bearer(admins))
        assert allowed.status_code == 200 and '# TYPE potrack_signins_total counter' in allowed.text


async def test_a_database_outage_while_checking_the_token_is_503_json(user: User, sqlite_db: Database, admin) -> None:
    token = issue_token(admin, user_id=admin.user_id, name='prometheus').token
    unreachable = Database('postgresql://postgres@127.0.0.1:1/unreachable')
    use_database(unreachable)
    try:
        async with remote_client() as client:
            response = await client.get('/metrics', headers=bearer(token))
    finally:
        use_database(sqlite_db)
        unreachable.dispose()
    assert error_of(response) == (503, 'not_saved', 'The database did not answer. Try again in a moment.')
