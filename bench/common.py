"""Shared helpers for the benchmarks: scratch PostgreSQL databases, raw connections, timing and percentiles.

Every bench creates its own database on the server given by `--url` (used only as the admin connection),
prints its figures next to a baseline measured in the same run, and drops the database at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

# The benches create a few users; they measure the ledger and queries, not bcrypt.
os.environ.setdefault('POTRACK_BCRYPT_ROUNDS', '4')

import psycopg2
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from potrack.config import normalize_database_url
from potrack.db import Database
from potrack.ops.provision import provision
from potrack.ops.upgrade import upgrade

DEFAULT_ADMIN_URL = 'postgresql://postgres@127.0.0.1:5432/test'
T = TypeVar('T')


def base_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        '--url',
        default=DEFAULT_ADMIN_URL,
        help=f'PostgreSQL server to create the scratch database on (admin connection; default {DEFAULT_ADMIN_URL})',
    )
    parser.add_argument('--keep', action='store_true', help='keep the scratch database instead of dropping it')
    return parser


@contextmanager
def scratch_database(admin_url: str, purpose: str, *, keep: bool = False) -> Iterator[str]:
    """A new, empty database on the server of `admin_url`; yields its URL and drops it afterwards."""
    server = make_url(normalize_database_url(admin_url))
    if server.get_backend_name() != 'postgresql':
        raise SystemExit('the benches need PostgreSQL: --url postgresql://user@host:port/db')
    name = f'potrack_bench_{purpose}_{os.getpid()}_{uuid.uuid4().hex[:6]}'
    admin = create_engine(server, isolation_level='AUTOCOMMIT', poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE {name}'))
    url = server.set(database=name).render_as_string(hide_password=False)
    print(f'scratch database {name} on {server.render_as_string(hide_password=True)}')
    try:
        yield url
    finally:
        if keep:
            print(f'kept database {name} (drop it with: DROP DATABASE {name})')
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS {name} WITH (FORCE)'))
            print(f'dropped database {name}')
        admin.dispose()


def prepared_database(url: str, *, pool_size: int = 10) -> Database:
    """The scratch database migrated and provisioned (admin, work centers, departments)."""
    db = Database(url, pool_size=pool_size)
    upgrade(db)
    provision(db)
    return db


def run_on_database(args: argparse.Namespace, purpose: str, run: Callable[[Database], None], sqlite_file: Path) -> None:
    """`run(db)` on a prepared database: `sqlite_file` with --sqlite, else a scratch PostgreSQL database."""
    with contextlib.ExitStack() as stack:
        url = (
            f'sqlite:///{sqlite_file}'
            if args.sqlite
            else stack.enter_context(scratch_database(args.url, purpose, keep=args.keep))
        )
        db = prepared_database(url)
        try:
            run(db)
        finally:
            db.dispose()


def raw_connection(url: str) -> Any:
    """A plain psycopg2 connection to `url` (autocommit off), for baselines without potrack in between."""
    args = make_url(normalize_database_url(url)).translate_connect_args(database='dbname', username='user')
    return psycopg2.connect(**args, application_name='potrack-bench')


def backend_cpu_s(pids: Iterable[int]) -> float:
    """CPU seconds (user + system) the server processes `pids` have used so far, read from /proc: the benches'
    PostgreSQL runs on this machine (127.0.0.1). A process that has ended, or cannot be read, counts 0."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f'/proc/{pid}/stat').read_text().rsplit(')', 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf('SC_CLK_TCK')


def database_backends(conn: Any) -> list[int]:
    """The server processes of the other connections to `conn`'s database (psycopg2, autocommit on: a
    transaction would keep reading one snapshot of pg_stat_activity)."""
    with conn.cursor() as cur:
        cur.execute(
            'SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() '
            "AND backend_type = 'client backend'"
        )
        return [r[0] for r in cur.fetchall()]


def percentile(values: Sequence[float], pct: float) -> float:
    """The pct-th percentile (0–100) with linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class Timings:
    """Latencies in seconds of one kind of operation, and the wall time they took together."""

    label: str
    latencies: list[float]
    wall_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of this process meanwhile (all its threads)

    @property
    def cpu_ms_per_op(self) -> float:
        return self.cpu_s / self.ops * 1000 if self.ops else 0.0

    @property
    def ops(self) -> int:
        return len(self.latencies)

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.wall_s if self.wall_s else 0.0

    def p(self, pct: float) -> float:
        """Percentile in milliseconds."""
        return percentile(self.latencies, pct) * 1000

    @property
    def p50(self) -> float:
        return self.p(50)

    @property
    def p95(self) -> float:
        return self.p(95)

    @property
    def mean_ms(self) -> float:
        return statistics.fmean(self.latencies) * 1000 if self.latencies else 0.0


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    """Run fn(); return its result and the seconds it took."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def repeat(label: str, fn: Callable[[], Any], runs: int, *, warmup: int = 2) -> Timings:
    """Time `runs` calls of fn after `warmup` untimed ones."""
    for _ in range(warmup):
        fn()
    latencies = []
    for _ in range(runs):
        _, seconds = timed(fn)
        latencies.append(seconds)
    return Timings(label, latencies, sum(latencies))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print('  '.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            print('  '.join('-' * w for w in widths))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'{value:,.1f}' if value >= 100 else f'{value:.2f}'
    if isinstance(value, int):
        return f'{value:,}'
    return str(value)


def machine_note() -> str:
    """CPU count and load, printed with every figure: on a busy machine every figure is slower."""
    one, five, _ = os.getloadavg()
    return f'{os.cpu_count()} CPUs, load average {one:.1f} (1 min) / {five:.1f} (5 min)'


def ratio_line(label: str, value: float, goal: str, ok: bool) -> str:
    return f'{label}: {value:.2f}  (goal {goal}: {"met" if ok else "NOT met"})'
