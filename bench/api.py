"""POST /api/v1/movements with concurrent clients against PostgreSQL, next to the raw locked transaction.

    python bench/api.py [--url postgresql://postgres@127.0.0.1:5432/test] [--clients 8] [--seconds 10]
                        [--instances 1]

Measured in one run, on a fresh scratch database (dropped at the end):
- raw: N threads, each on its own psycopg2 connection, doing the bare write path of bench/record.py
  (balance row insert-if-missing, SELECT … FOR UPDATE, INSERT movement, UPDATE balance, COMMIT);
- api: N client threads, each with its own keep-alive HTTP connection, POSTing movements with an
  Idempotency-Key to a real `potrack serve` process on 127.0.0.1 (token auth, JSON, validation, the
  ledger's write path, NOTIFY, the JSON answer); with --instances N, N processes on the one database
  and the clients spread over them, as behind the README's nginx set-up.
With --one-order, every client and raw thread records the same order, so all writes queue on one balance
row (in the database for raw, on the API's per-row turns for the API).
Both phases run the same plan (IN 2, then OUT 1 of the same order, per worker) and alternate in rounds
so a change in machine load hits both alike. Afterwards: every movement the API confirmed (201) is in
the ledger, none twice, a replay of confirmed requests records nothing, balances are consistent.
Goal: API movements/s ≥ 0.35 × raw.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ''):  # run as a script: python bench/api.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import text

from bench.common import (
    Timings,
    base_parser,
    machine_note,
    prepared_database,
    print_table,
    ratio_line,
    raw_connection,
    scratch_database,
)
from bench.record_runs import op_plan
from bench.record_sides import adopt_raw_orders, raw_op, setup
from potrack.accounts.tokens import issue_token
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.ledger.integrity import check_consistency

ROUNDS = 2
GOAL = 0.35
START_TIMEOUT_S = 60
Worker = Callable[[int, int, list[float], float], None]  # (worker n, round, latencies, deadline)


class Server:
    """One `potrack serve` on a free loopback port, stopped by its own pid."""

    def __init__(self, url: str, data_dir: Path, extra_env: dict[str, str] | None = None) -> None:
        import socket

        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            self.port = s.getsockname()[1]
        self.base = f'http://127.0.0.1:{self.port}'
        env = {k: v for k, v in os.environ.items() if not k.startswith(('POTRACK_', 'DATABASE_URL', 'NICEGUI'))}
        env.update(
            DATABASE_URL=url,
            POTRACK_DATA_DIR=str(data_dir),
            POTRACK_HOST='127.0.0.1',
            POTRACK_PORT=str(self.port),
            SESSION_SECRET='bench-secret',
        )
        env.update(extra_env or {})
        self.log = (data_dir / 'server.log').open('w')
        self.proc = subprocess.Popen(
            [sys.executable, '-m', 'potrack', 'serve'], env=env, stdout=self.log, stderr=self.log
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f'potrack serve exited; see {data_dir / "server.log"}')
            try:
                if httpx.get(self.base + '/healthz', timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise SystemExit('potrack serve did not answer in time')

    def cpu_s(self) -> float:
        """CPU seconds the server process has used so far (user + system), from /proc."""
        fields = Path(f'/proc/{self.proc.pid}/stat').read_text().rsplit(')', 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


def plan(i: int, prefix: str, n: int, one_order: bool) -> tuple[str, str, int]:
    """Worker n's i-th operation (op_plan), on one order shared by every worker when `one_order`: each
    worker still puts 2 in before it takes 1 out, so no OUT is refused however the workers interleave."""
    order, kind, qty = op_plan(i, f'{prefix}-W{n}')
    return (f'{prefix}-ONE' if one_order else order), kind, qty


def api_worker(
    bases: list[str],
    token: str,
    confirmed: list[tuple[str, dict[str, Any]]],
    failures: list[str],
    one_order: bool = False,
) -> Worker:
    """Client n keeps one keep-alive connection to instance n mod len(bases), as a sticky proxy would.

    http.client rather than httpx: the clients share these 2 cores with the server, and httpx took
    1.0 ms of CPU per request (a scanner or PLC gateway sends a few hundred bytes and reads a few hundred).
    """
    clients: dict[int, http.client.HTTPConnection] = {}
    headers = {'Authorization': f'Bearer {token}', 'Content-Type': 'application/json'}

    def run(n: int, rnd: int, latencies: list[float], deadline: float) -> None:
        if n not in clients:
            url = httpx.URL(bases[n % len(bases)])
            clients[n] = http.client.HTTPConnection(url.host, url.port, timeout=30)
        client = clients[n]
        for i in range(10**9):
            if time.perf_counter() > deadline:
                return
            order, kind, qty = plan(i, f'API-R{rnd}', n, one_order)
            body = {'order_number': order, 'work_center': 'WC001', 'quantity': qty, 'type': kind}
            key = uuid.uuid4().hex
            t0 = time.perf_counter()
            for attempt in (1, 2):
                try:
                    client.request('POST', '/api/v1/movements', json.dumps(body), {**headers, 'Idempotency-Key': key})
                    response = client.getresponse()
                    text_ = response.read()
                    break
                except (ConnectionError, http.client.RemoteDisconnected):
                    # The server closed the idle keep-alive connection between phases: reconnect and
                    # send again with the same key, which is what the key is for.
                    client.close()
                    if attempt == 2:
                        raise
            latencies.append(time.perf_counter() - t0)
            if response.status == 201:
                confirmed.append((key, body))
            else:
                failures.append(f'{response.status} {text_[:200]!r}')

    run.clients = clients  # type: ignore[attr-defined]
    return run


def raw_worker(url: str, wc_id: int, user_id: int, one_order: bool = False) -> Worker:
    conns: dict[int, Any] = {}

    def run(n: int, rnd: int, latencies: list[float], deadline: float) -> None:
        if n not in conns:
            conns[n] = raw_connection(url)
        op = raw_op(conns[n], (wc_id,), user_id)
        for i in range(10**9):
            if time.perf_counter() > deadline:
                return
            order, kind, qty = plan(i, f'RAW-R{rnd}', n, one_order)
            t0 = time.perf_counter()
            op(order, kind, qty)
            latencies.append(time.perf_counter() - t0)

    run.conns = conns  # type: ignore[attr-defined]
    return run


def phase(worker: Worker, threads: int, rnd: int, seconds: float, into: Timings) -> None:
    """`threads` workers started together for `seconds`; adds their latencies and wall time to `into`."""
    lists: list[list[float]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads + 1)

    def body(n: int) -> None:
        barrier.wait()
        try:
            worker(n, rnd, lists[n], deadline)
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    pool = [threading.Thread(target=body, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    barrier.wait()
    for t in pool:
        t.join()
    into.wall_s += time.perf_counter() - started
    into.latencies.extend(x for lst in lists for x in lst)
    if errors:
        raise errors[0]


def verify(db: Database, server: Server, token: str, confirmed: list[tuple[str, dict[str, Any]]], user_id: int) -> str:
    """Every confirmed movement stored once; a replay of some records nothing; balances consistent."""
    with db.engine.connect() as conn:
        keys = {
            r[0] for r in conn.execute(text("SELECT request_id FROM production_order WHERE request_id LIKE 'api%'"))
        }
    wanted = {f'api{user_id}:{key}' for key, _ in confirmed}
    lost, extra = wanted - keys, keys - wanted
    replayed = 0
    with httpx.Client(base_url=server.base, headers={'Authorization': f'Bearer {token}'}) as client:
        for key, body in confirmed[:200]:
            response = client.post('/api/v1/movements', json=body, headers={'Idempotency-Key': key})
            replayed += response.status_code == 200 and response.json()['already_recorded']
    with db.engine.connect() as conn:
        after = conn.execute(text("SELECT COUNT(*) FROM production_order WHERE request_id LIKE 'api%'")).scalar_one()
    adopt_raw_orders(db)
    report = check_consistency(db)
    ok = not lost and not extra and after == len(keys) and replayed == min(200, len(confirmed)) and report.consistent
    return (
        f'{"OK" if ok else "FAILED"}: {len(confirmed):,} confirmed, {len(keys):,} stored, {len(lost)} lost, '
        f'{len(extra)} unconfirmed extra; {replayed} replays answered "already recorded", rows after replay '
        f'{after:,}; balances {"consistent" if report.consistent else "INCONSISTENT"}'
    )


def main(argv: list[str] | None = None) -> int:
    parser = base_parser(__doc__.splitlines()[0])
    parser.add_argument('--clients', type=int, default=8, help='concurrent clients / threads (default 8)')
    parser.add_argument(
        '--instances', type=int, default=1, help='potrack processes on the one database, clients spread over them'
    )
    parser.add_argument(
        '--server-env',
        type=lambda v: tuple(v.split('=', 1)),
        action='append',
        default=[],
        metavar='NAME=VALUE',
        help='a setting for the servers, e.g. POTRACK_API_THREADS=4 (repeatable)',
    )
    parser.add_argument('--one-order', action='store_true', help='every client records the same order')
    parser.add_argument('--seconds', type=float, default=10.0, help='seconds per phase, split over rounds')
    args = parser.parse_args(argv)
    print(machine_note())
    with scratch_database(args.url, 'api', keep=args.keep) as url, tempfile.TemporaryDirectory() as tmp:
        db = prepared_database(url, pool_size=2)
        operator, centers = setup(db)
        with db.read() as s:
            admin_id = s.execute(text('SELECT id FROM "user" WHERE username = \'admin\'')).scalar_one()
        token = issue_token(Actor(admin_id), user_id=operator.user_id, name='bench', db=db).token
        servers = []
        for k in range(args.instances):  # one data folder each, as on separate machines
            (Path(tmp) / f'instance-{k}').mkdir()
            servers.append(Server(url, Path(tmp) / f'instance-{k}', dict(args.server_env)))
        server = servers[0]
        confirmed: list[tuple[str, dict[str, Any]]] = []
        failures: list[str] = []
        api = api_worker([x.base for x in servers], token, confirmed, failures, args.one_order)
        raw = raw_worker(url, centers[0], operator.user_id, args.one_order)
        raw_t = Timings(f'raw locked transaction, {args.clients} threads', [])
        where = ('' if args.instances == 1 else f' over {args.instances} instances') + (
            ', one order' if args.one_order else ''
        )
        api_t = Timings(f'POST /api/v1/movements, {args.clients} clients{where}', [])
        server_cpu = client_cpu = 0.0
        try:
            phase(api, args.clients, -1, 1.0, Timings('warm-up', []))  # connections, caches, JIT of the server
            for rnd in range(ROUNDS):
                phase(raw, args.clients, rnd, args.seconds / ROUNDS, raw_t)
                cpu0, own0 = sum(x.cpu_s() for x in servers), time.process_time()
                phase(api, args.clients, rnd, args.seconds / ROUNDS, api_t)
                server_cpu += sum(x.cpu_s() for x in servers) - cpu0
                client_cpu += time.process_time() - own0
            summary = verify(db, server, token, confirmed, operator.user_id)
        finally:
            for client in api.clients.values():  # type: ignore[attr-defined]
                client.close()
            for conn in raw.conns.values():  # type: ignore[attr-defined]
                conn.close()
            for x in servers:
                x.stop()
            db.dispose()

    print()
    print(machine_note())
    print_table(
        ['recording over HTTP', 'ops', 'seconds', 'ops/s', 'p50 ms', 'p95 ms'],
        [[t.label, t.ops, t.wall_s, t.ops_per_s, t.p50, t.p95] for t in (raw_t, api_t)],
    )
    ratio = api_t.ops_per_s / raw_t.ops_per_s if raw_t.ops_per_s else 0.0
    print(ratio_line('API/raw movements per second', ratio, f'≥ {GOAL}', ratio >= GOAL))
    per_op = 1000 / max(api_t.ops, 1)
    servers_label = 'server' if args.instances == 1 else f'{args.instances} servers'
    print(
        f'CPU per API movement: {servers_label} {server_cpu * per_op:.2f} ms, '
        f'bench clients {client_cpu * per_op:.2f} ms'
    )
    print(f'refused or failed API requests: {len(failures)}' + (f' (first: {failures[0]})' if failures else ''))
    print(summary)
    return 0 if summary.startswith('OK') and not failures else 1


if __name__ == '__main__':
    sys.exit(main())
