"""A tiny in-process metrics registry rendered in the Prometheus text format (version 0.0.4).

Counters and a latency histogram are updated from worker threads (ledger, sign-in) and from the event
loop (HTTP middleware), so every update takes the registry's lock; gauges are read from callbacks at
scrape time. Figures are per process: with several instances, Prometheus scrapes each one and sums.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from potrack.errors import PotrackError

# Request latency buckets in seconds: kiosk actions should stay well under 100 ms.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
Labels = tuple[tuple[str, str], ...]
P = ParamSpec('P')
R = TypeVar('R')


def _labels(labels: dict[str, str] | None) -> Labels:
    return tuple(sorted((labels or {}).items()))


def _fmt_labels(labels: Labels, extra: tuple[str, str] | None = None) -> str:
    items = [*labels, extra] if extra else list(labels)
    if not items:
        return ''
    # Label values come from a fixed set in this code, but escape anyway: the format must never break.
    escaped = (f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"' for k, v in items)
    return '{' + ','.join(escaped) + '}'


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}  # name -> (type, help)
        self._counters: dict[str, dict[Labels, float]] = {}
        self._gauges: dict[str, Callable[[], float]] = {}
        self._hist: dict[str, dict[Labels, list[float]]] = {}  # bucket counts..., then sum, then count

    def counter(self, name: str, help_text: str) -> None:
        with self._lock:
            self._help[name] = ('counter', help_text)
            self._counters.setdefault(name, {})

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """A gauge whose value `read()` gives at scrape time (registering again replaces the reader)."""
        with self._lock:
            self._help[name] = ('gauge', help_text)
            self._gauges[name] = read

    def histogram(self, name: str, help_text: str) -> None:
        with self._lock:
            self._help[name] = ('histogram', help_text)
            self._hist.setdefault(name, {})

    def inc(self, name: str, labels: dict[str, str] | None = None, amount: float = 1.0) -> None:
        key = _labels(labels)
        with self._lock:
            series = self._counters.setdefault(name, {})
            series[key] = series.get(key, 0.0) + amount

    def observe(self, name: str, seconds: float, labels: dict[str, str] | None = None) -> None:
        key = _labels(labels)
        with self._lock:
            series = self._hist.setdefault(name, {})
            cells = series.setdefault(key, [0.0] * (len(LATENCY_BUCKETS_S) + 2))
            index = bisect.bisect_left(LATENCY_BUCKETS_S, seconds)
            if index < len(LATENCY_BUCKETS_S):
                cells[index] += 1
            cells[-2] += seconds
            cells[-1] += 1

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """A counter's current value (0 when never incremented); for tests and the bench."""
        with self._lock:
            return self._counters.get(name, {}).get(_labels(labels), 0.0)

    def render(self) -> str:
        """Every metric in the Prometheus text format."""
        with self._lock:
            helps = dict(self._help)
            counters = {n: dict(s) for n, s in self._counters.items()}
            gauges = dict(self._gauges)
            hist = {n: {k: list(v) for k, v in s.items()} for n, s in self._hist.items()}
        lines: list[str] = []
        for name in sorted(helps):
            kind, help_text = helps[name]
            lines += [f'# HELP {name} {help_text}', f'# TYPE {name} {kind}']
            if kind == 'counter':
                for labels, value in sorted(counters.get(name, {}).items()):
                    lines.append(f'{name}{_fmt_labels(labels)} {value:g}')
            elif kind == 'gauge':
                lines.append(f'{name} {_read(gauges[name]):g}')
            else:
                for labels, cells in sorted(hist.get(name, {}).items()):
                    running = 0.0
                    for bound, count in zip(LATENCY_BUCKETS_S, cells, strict=False):
                        running += count
                        lines.append(f'{name}_bucket{_fmt_labels(labels, ("le", f"{bound:g}"))} {running:g}')
                    lines.append(f'{name}_bucket{_fmt_labels(labels, ("le", "+Inf"))} {cells[-1]:g}')
                    lines.append(f'{name}_sum{_fmt_labels(labels)} {cells[-2]:.6f}')
                    lines.append(f'{name}_count{_fmt_labels(labels)} {cells[-1]:g}')
        return '\n'.join(lines) + '\n'


def _read(read: Callable[[], float]) -> float:
    try:
        return float(read())
    except Exception:  # a broken reader must not take the whole scrape down
        return float('nan')


registry = Registry()

MOVEMENTS_RECORDED = 'potrack_movements_recorded_total'
MOVEMENTS_REFUSED = 'potrack_movements_refused_total'
SIGNINS = 'potrack_signins_total'
LIVE_CLIENTS = 'potrack_live_clients'
REQUEST_SECONDS = 'potrack_http_request_duration_seconds'

registry.counter(MOVEMENTS_RECORDED, 'Movements written to the ledger (IN, OUT, reversals), by type.')
registry.counter(MOVEMENTS_REFUSED, 'Movements refused (bad input, scope, balance, conflict, database), by reason.')
registry.counter(SIGNINS, 'Sign-in attempts by outcome (succeeded, failed).')
registry.histogram(REQUEST_SECONDS, 'HTTP request latency in seconds, by path group.')
registry.gauge(LIVE_CLIENTS, 'Browser pages connected to this instance right now.', lambda: 0)


def movement_recorded(kind: str) -> None:
    registry.inc(MOVEMENTS_RECORDED, {'type': kind})


def movement_refused(exc: BaseException) -> None:
    registry.inc(MOVEMENTS_REFUSED, {'reason': type(exc).__name__})


def signin(outcome: str) -> None:
    registry.inc(SIGNINS, {'outcome': outcome})


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
