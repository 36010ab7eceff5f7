"""potrack's metrics, kept by prometheus_client in a registry of our own and served by /metrics.

The registry is not prometheus_client's global one: only potrack's own series are exposed (no process or
GC collectors), and nothing else in the process can collide with them. The metrics are made once, when
this module is imported, so building the app again (every test does) never registers a name twice.
Figures are per process: with several instances, Prometheus scrapes each one and sums.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

from potrack.errors import PotrackError

# Request latency buckets in seconds: kiosk actions should stay well under 100 ms.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
P = ParamSpec('P')
R = TypeVar('R')

MOVEMENTS_RECORDED = 'potrack_movements_recorded_total'
MOVEMENTS_REFUSED = 'potrack_movements_refused_total'
SIGNINS = 'potrack_signins_total'
LIVE_CLIENTS = 'potrack_live_clients'
REQUEST_SECONDS = 'potrack_http_request_duration_seconds'

# Without this every counter and histogram also exposes a `…_created` series, which /metrics never had.
disable_created_metrics()


class Registry(CollectorRegistry):
    """prometheus_client's registry, plus `value` for tests (the library answers None before a first count)."""

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A sample's current value, 0 before its first count."""
        return self.get_sample_value(name, labels) or 0.0


registry = Registry()
_recorded = Counter(
    MOVEMENTS_RECORDED, 'Movements written to the ledger (IN, OUT, reversals), by type.', ['type'], registry=registry
)
_refused = Counter(
    MOVEMENTS_REFUSED,
    'Movements refused (bad input, scope, balance, conflict, database), by reason.',
    ['reason'],
    registry=registry,
)
_signins = Counter(SIGNINS, 'Sign-in attempts by outcome (succeeded, failed).', ['outcome'], registry=registry)
_latency = Histogram(
    REQUEST_SECONDS,
    'HTTP request latency in seconds, by path group.',
    ['path'],
    buckets=LATENCY_BUCKETS_S,
    registry=registry,
)
_live_clients = Gauge(LIVE_CLIENTS, 'Browser pages connected to this instance right now.', registry=registry)


# labels() takes the metric's lock and checks its arguments on every call; the label values are a handful
# (movement types, error kinds, path groups), so each child is looked up once and kept.
_recorded_as = functools.cache(_recorded.labels)
_refused_for = functools.cache(_refused.labels)
_signins_by = functools.cache(_signins.labels)
_latency_of = functools.cache(_latency.labels)


def movement_recorded(kind: str) -> None:
    _recorded_as(kind).inc()


def movement_refused(exc: BaseException) -> None:
    _refused_for(type(exc).__name__).inc()


def signin(outcome: str) -> None:
    _signins_by(outcome).inc()


def request_took(path_group: str, seconds: float) -> None:
    _latency_of(path_group).observe(seconds)


def watch_live_clients(read: Callable[[], float]) -> None:
    """Read the live clients gauge from `read()` at scrape time (calling again replaces the reader)."""
    _live_clients.set_function(lambda: _read(read))


def _read(read: Callable[[], float]) -> float:
    try:
        return float(read())
    except Exception:  # a broken reader must not take the whole scrape down
        return float('nan')


def exposition() -> bytes:
    """Every metric in the Prometheus text format (version 0.0.4)."""
    return generate_latest(registry)


def counted_movements(fn: Callable[P, R]) -> Callable[P, R]:
    """Count what a ledger write did: recorded (not a replay) by type, or refused by the error's kind."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            result = fn(*args, **kwargs)
        except PotrackError as exc:
            movement_refused(exc)
            raise
        if not getattr(result, 'already_recorded', True):
            movement_recorded('reversal' if getattr(result, 'reverses_id', None) else str(result.movement_type))  # type: ignore[attr-defined]
        return result

    return wrapper
