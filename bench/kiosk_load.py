"""Many kiosks at once over the real HTTP + websocket path, on PostgreSQL.

Issue: "50 concurrent kiosk clients, each recording an entry every 2 seconds for 60 seconds, against
PostgreSQL. Report movements committed vs attempted (must be equal, none duplicated), p50/p95 time from
button event to confirmation, server RSS per connected client, and the same p95 with 1 client. Targets on
this 2-core machine: p95 ≤ 100 ms at 50 clients; ≤ 1 MB per connected kiosk."

A `potrack serve` subprocess on 127.0.0.1 with a scratch PostgreSQL database. Operators of Production
are created through potrack's API. Each cycle on a kiosk: scan their own order number (value + Enter), type
a small quantity, press IN. Timed: from sending the IN click to the arrival of the status label's 'Saved:'
text. How the operators get to /kiosk (`--mode`):

- `badge` (the default, issue 16): every simulated kiosk is an enrolled kiosk device, made through potrack's
  services before the load (accounts/devices.create_device → one-time code → enrollment.enroll → the
  credential, set as the browser's `potrack_device` cookie), pinned to one work center (WC001–WC004 in
  turn), with a badge per operator (operator_codes.set_operator_codes). The operator opens /device, scans
  the badge (value + Enter), follows the ticket to /kiosk, where the device's single work center is chosen.
  The bench shares the server's SESSION_SECRET: badges and enrollment codes are stored as keyed hashes.
- `password`: the sign-in page with user name and password, then /kiosk and a tap on a work center card.

`--profile PREFIX` runs the server under bench/profiled_serve.py and profiles its main thread (the event
loop) during the load phase only: PREFIX.txt (and .html with pyinstrument on PYTHONPATH, else cProfile).

Phases: (1) one client (the baseline, also the warm-up); (2) RSS with no client connected; (3) all
clients sign in and open the kiosk; (4) the load; then the database is checked: rows per order number
against confirmations, no request id twice, balances consistent (potrack.integrity.check_consistency).

    python -m bench.kiosk_load [--clients 50] [--seconds 60] [--interval 2] [--mode badge|password]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import secrets
import signal
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

# The operators are created here; their hash cost is what the server's sign-in check costs. Sign-in
# happens before the clock starts, so a low cost only shortens the set-up.
os.environ['POTRACK_BCRYPT_ROUNDS'] = '4'

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ui_client import (
    HOST,
    Page,
    Server,
    UiError,
    browser,
    create_operators,
    follow_ticket,
    percentile,
    running_server,
    scratch_postgres,
    sign_in,
    summary_ms,
)

T = TypeVar('T')
PASSWORD = 'Bench-kiosk-2024!'
DEPARTMENT = 'Production'
WORK_CENTERS = ('WC001', 'WC002', 'WC003', 'WC004')
RECONNECT_TIMEOUT_S = 30.0  # potrack.app.RECONNECT_TIMEOUT_S: a closed page lives on this long on the server
SAVE_TIMEOUT_S = 15.0
P95_TARGET_MS = 100.0
RSS_TARGET_KB = 1024.0
DEVICE_COOKIE = 'potrack_device'  # potrack.accounts.device_view.DEVICE_COOKIE
MODES = ('badge', 'password')


def badge_of(username: str) -> str:
    return f'BADGE-{username.upper()}-0001'


def add_orders(url: str, orders: dict[str, str]) -> None:
    """The bench's orders in the order book ({order number: its work center}, a route of that one step), as an
    admin types them: an entry on an order not in the book is refused or must be confirmed (the site's policy)."""
    from sqlmodel import select

    from potrack.common.actors import Actor
    from potrack.db import Database
    from potrack.db.models import User
    from potrack.orders.book import add_order
    from potrack.orders.fields import OrderFields

    db = Database(url)
    try:
        with db.read() as session:
            admin = Actor(session.exec(select(User.id).where(User.username == 'admin')).one())
        for number, wc in orders.items():
            add_order(admin, OrderFields(order_number=number, route=wc), db=db)
    finally:
        db.dispose()


def device_credentials(url: str, names: list[str]) -> dict[str, str]:
    """One enrolled device per operator (pinned to its work center), and a badge per operator: {username: credential}.

    Through potrack's services, as an admin does it in Admin → Devices and an operator at the device on /enroll.
    """
    from sqlmodel import select

    from potrack.accounts.devices import create_device
    from potrack.accounts.enrollment import enroll
    from potrack.accounts.operator_codes import set_operator_codes
    from potrack.common.actors import Actor
    from potrack.db import Database
    from potrack.db.models import User, WorkCenter

    db = Database(url)
    try:
        with db.read() as session:
            admin = Actor(session.exec(select(User.id).where(User.username == 'admin')).one())
            users = dict(session.exec(select(User.username, User.id).where(User.username.in_(names))).all())
            wcs = dict(session.exec(select(WorkCenter.code, WorkCenter.id)).all())
        credentials = {}
        for i, name in enumerate(names):
            wc = WORK_CENTERS[(i - 1) % len(WORK_CENTERS)] if i else WORK_CENTERS[0]
            issued = create_device(
                admin, db=db, name=f'Bench kiosk {i:02d}', work_center_ids=[wcs[wc]], sign_out_after='idle'
            )
            credentials[name] = enroll(issued.code, source=f'bench-{i}', db=db).credential
            set_operator_codes(admin, user_id=users[name], badge=badge_of(name), db=db)
    finally:
        db.dispose()
    return credentials


@dataclass
class KioskStats:
    order: str
    attempted: int = 0
    confirmed: int = 0
    replayed: int = 0  # 'Saved (this entry was already recorded)': must stay 0
    quantity_confirmed: int = 0
    latencies: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)  # when each timed click went, beside its latency
    errors: list[str] = field(default_factory=list)


class Kiosk:
    """One operator's kiosk page, driven through its inputs and buttons."""

    def __init__(self, page: Page, order: str) -> None:
        self.page = page
        self.order_input = page.find(label='Order number')
        self.qty_input = page.find(label='Quantity (pieces)')
        self.in_button = page.find(label='IN', tag='q-btn')
        self.status = page.find(props={'role': 'status'})
        self.stats = KioskStats(order)

    async def choose(self, work_center: str) -> None:
        if not self.page.prop(self.in_button, 'disable', False):
            return  # a device pinned to one work center: chosen already
        card = self.page.ancestor(self.page.find(text=work_center), 'q-btn')
        await self.page.click(card)
        await self.page.wait_for(lambda: not self.page.prop(self.in_button, 'disable', False), SAVE_TIMEOUT_S)

    async def record(self, quantity: int) -> bool:
        """Scan the order (value + Enter), type the quantity, press IN; time click → 'Saved:'.

        False when no answer came in time: the entry may still be in flight (the kiosk keeps IN disabled
        until it ends), so this kiosk stops; the database check counts what was committed anyway.
        """
        page, stats = self.page, self.stats
        await page.set_value(self.order_input, stats.order.lower())
        await page.press_key(self.order_input, 'enter')
        await page.set_value(self.qty_input, str(quantity))
        before = page.text(self.status)
        stats.attempted += 1
        try:
            sent = await page.click(self.in_button)
            text, arrived = await page.wait_for(
                lambda: page.text(self.status) != before and page.text(self.status), SAVE_TIMEOUT_S
            )
        except UiError as exc:
            stats.errors.append(str(exc))
            return False
        expected = f'Saved: {quantity} of {stats.order} received at '
        if text.startswith(expected):
            stats.confirmed += 1
            stats.quantity_confirmed += quantity
            stats.latencies.append(arrived - sent)
            stats.sent_at.append(sent)
        elif text.startswith('Saved'):
            stats.replayed += 1  # 'Saved (this entry was already recorded)' or another entry's confirmation
            stats.errors.append(text)
        else:
            stats.errors.append(text)
        if text.startswith('Saved'):
            # The kiosk clears the fields after a save; the operator starts the next entry on the cleared form.
            await page.wait_for(lambda: page.prop(self.qty_input, 'value') == '', SAVE_TIMEOUT_S)
        return True

    async def run(self, until: float, interval: float, offset: float, rng: random.Random) -> None:
        next_at = time.monotonic() + offset
        while next_at < until and time.monotonic() < until:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            if not await self.record(rng.randint(1, 5)):
                return
            # An entry slower than the interval delays the next one; no burst to catch up.
            next_at = max(next_at + interval, time.monotonic())


async def badge_sign_in(http: httpx.AsyncClient, credential: str, badge: str) -> float:
    """On an enrolled device: open /device, scan the badge (value + Enter), follow the ticket to the session cookie.

    Returns the time from the Enter to the server's navigation."""
    http.cookies.set(DEVICE_COOKIE, credential, domain=HOST)
    page = await Page.open(http, '/device')
    try:
        field_id = page.find(label='Scan your badge')
        alert = page.find(props={'role': 'alert'})
        await page.set_value(field_id, badge)
        sent = time.perf_counter()
        await page.press_key(field_id, 'enter')
    except BaseException:
        await page.close()
        raise
    arrived, location = await follow_ticket(http, page, alert, 'badge sign-in')
    if not location.startswith('/kiosk'):
        raise UiError(f'badge sign-in led to {location!r}, not /kiosk')
    return arrived - sent


SIGN_IN_TIMES: list[float] = []  # badge Enter → navigation, every badge sign-in of the run


async def open_kiosk(
    base_url: str, username: str, order: str, work_center: str, credential: str | None = None
) -> tuple[Kiosk, httpx.AsyncClient]:
    http = browser(base_url)
    try:
        if credential is None:
            await sign_in(http, username, PASSWORD)
        else:
            SIGN_IN_TIMES.append(await badge_sign_in(http, credential, badge_of(username)))
        kiosk = Kiosk(await Page.open(http, '/kiosk'), order)
        await kiosk.choose(work_center)
    except BaseException:
        await http.aclose()
        raise
    return kiosk, http


async def close_kiosk(kiosk: Kiosk, http: httpx.AsyncClient) -> None:
    await kiosk.page.close()
    await http.aclose()


async def gather_limited(coros: list[Awaitable[T]], limit: int) -> list[T]:
    gate = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[T]) -> T:
        async with gate:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))


@dataclass
class Phase:
    name: str
    clients: int
    seconds: float
    kiosks: list[KioskStats]
    server_cpu_s: float
    bench_cpu_s: float

    @property
    def latencies(self) -> list[float]:
        return [x for k in self.kiosks for x in k.latencies]

    def total(self, attr: str) -> int:
        return sum(getattr(k, attr) for k in self.kiosks)

    def windows(self, seconds: float = 10.0) -> list[tuple[int, float, int]]:
        """Per window of the load: (its start in s, p95 ms, entries over 100 ms): a tail spread evenly over the run
        is steady queueing; one bad window is a pause (a full garbage collection, another process)."""
        timed = sorted(zip((x for k in self.kiosks for x in k.sent_at), self.latencies, strict=True))
        if not timed:
            return []
        start = timed[0][0]
        buckets: dict[int, list[float]] = {}
        for at, latency in timed:
            buckets.setdefault(int((at - start) // seconds), []).append(latency)
        return [
            (int(i * seconds), percentile(lat, 95) * 1000, sum(x > P95_TARGET_MS / 1000 for x in lat))
            for i, lat in sorted(buckets.items())
        ]


def bench_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_phase(
    server: Server, name: str, kiosks: list[Kiosk], seconds: float, interval: float, seed: int
) -> Phase:
    rng = random.Random(seed)
    cpu0, bcpu0, t0 = server.cpu_seconds(), bench_cpu(), time.monotonic()
    until = t0 + seconds
    # Operators are not synchronised: each starts at a random point of the first interval.
    await asyncio.gather(*(k.run(until, interval, rng.uniform(0, interval), rng) for k in kiosks))
    return Phase(
        name,
        len(kiosks),
        time.monotonic() - t0,
        [k.stats for k in kiosks],
        server.cpu_seconds() - cpu0,
        bench_cpu() - bcpu0,
    )


async def measure(
    server: Server, args: argparse.Namespace, credentials: dict[str, str]
) -> tuple[Phase, Phase, dict[str, float]]:
    base = server.base_url
    rss: dict[str, float] = {'start': server.rss_kb()}

    # (1) one client: the baseline and the warm-up.
    kiosk, http = await open_kiosk(base, 'bench-k00', 'BENCH-W00', WORK_CENTERS[0], credentials.get('bench-k00'))
    try:
        for _ in range(5):  # warm-up: first writes, first live notices, not counted
            await kiosk.record(1)
        kiosk.stats = KioskStats('BENCH-S00')
        single = await run_phase(
            server, '1 client', [kiosk], args.single_entries * args.single_interval, args.single_interval, 1
        )
    finally:
        await close_kiosk(kiosk, http)
    print(f'  1 client: {single.total("confirmed")} entries, p95 {percentile(single.latencies, 95) * 1000:.1f} ms')

    # (2) no client connected: wait until the closed pages are gone from the server.
    print(f'  waiting {RECONNECT_TIMEOUT_S + 3:.0f} s for the closed pages to expire on the server')
    await asyncio.sleep(RECONNECT_TIMEOUT_S + 3)
    rss['idle'] = server.rss_kb()

    # (3) every client signs in and opens its kiosk (before the clock).
    t0 = time.monotonic()
    opened = await gather_limited(
        [
            open_kiosk(
                base,
                f'bench-k{i:02d}',
                f'BENCH-L{i:02d}',
                WORK_CENTERS[(i - 1) % len(WORK_CENTERS)],
                credentials.get(f'bench-k{i:02d}'),
            )
            for i in range(1, args.clients + 1)
        ],
        10,
    )
    print(f'  {args.clients} clients signed in and on /kiosk in {time.monotonic() - t0:.1f} s')
    rss['open'] = server.rss_kb()

    # (4) the load.
    kiosks = [k for k, _ in opened]
    try:
        if args.profile:
            os.kill(server.pid, signal.SIGUSR1)
        load = await run_phase(server, f'{args.clients} clients', kiosks, args.seconds, args.interval, 2)
        rss['end'] = server.rss_kb()
        if args.profile:
            os.kill(server.pid, signal.SIGUSR2)
    finally:
        await asyncio.gather(*(close_kiosk(k, h) for k, h in opened), return_exceptions=True)
    return single, load, rss


@dataclass
class DbCheck:
    committed: dict[str, int]
    quantities: dict[str, int]
    duplicate_request_ids: int
    consistent: bool
    mismatches: list[str]


def check_database(url: str) -> DbCheck:
    from sqlalchemy import text

    from potrack.db import Database
    from potrack.ledger.integrity import check_consistency

    db = Database(url)
    try:
        with db.read() as session:
            conn = session.connection()
            rows = conn.execute(
                text(
                    'SELECT order_number, COUNT(*), SUM(quantity) FROM production_order '
                    "WHERE order_number LIKE 'BENCH-%' GROUP BY order_number"
                )
            ).all()
            duplicates = conn.execute(
                text(
                    'SELECT COUNT(*) FROM (SELECT request_id FROM production_order '
                    'GROUP BY request_id HAVING COUNT(*) > 1) AS d'
                )
            ).scalar_one()
        report = check_consistency(db)
    finally:
        db.dispose()
    return DbCheck(
        {r[0]: int(r[1]) for r in rows},
        {r[0]: int(r[2]) for r in rows},
        int(duplicates),
        report.consistent,
        [m.describe() for m in report.mismatches],
    )


def print_report(args: argparse.Namespace, single: Phase, load: Phase, rss: dict[str, float], db: DbCheck) -> bool:
    s, lo = summary_ms(single.latencies), summary_ms(load.latencies)
    ratio = lo['p95'] / s['p95'] if s['p95'] > 0 else float('inf')
    attempted = load.total('attempted')
    confirmed = load.total('confirmed')
    committed = sum(db.committed.get(k.order, 0) for k in load.kiosks)
    qty_match = all(db.quantities.get(k.order, 0) == k.quantity_confirmed for k in load.kiosks)
    per_client_match = all(db.committed.get(k.order, 0) == k.confirmed for k in load.kiosks)
    single_committed = sum(db.committed.get(k.order, 0) for k in single.kiosks)
    per_client_kb = (rss['end'] - rss['idle']) / max(load.clients, 1)
    errors = [e for k in load.kiosks for e in k.errors]

    print()
    print(
        f'potrack kiosk load ({args.mode} sign-ins): {load.clients} clients, an IN every {args.interval:g} s each '
        f'for {args.seconds:g} s, PostgreSQL, {os.cpu_count()} CPUs, 1-min load average at start '
        f'{args.load_at_start:.1f}, now {os.getloadavg()[0]:.1f}'
    )
    if SIGN_IN_TIMES:
        signins = summary_ms(SIGN_IN_TIMES)
        print(
            f'badge sign-ins on /device (Enter → navigation to the ticket): {signins["n"]:.0f}, '
            f'p50 {signins["p50"]:.1f} ms, p95 {signins["p95"]:.1f} ms (10 at a time while opening)'
        )
    windows = '  '.join(f'{at}s {p95:.0f}/{slow}' for at, p95, slow in load.windows())
    print(f'p95 ms / entries over {P95_TARGET_MS:.0f} ms, per 10 s of the load: {windows}')
    print(f'{"click → Saved:":28}{"n":>6}{"p50 ms":>9}{"p95 ms":>9}{"max ms":>9}{"server CPU":>12}{"bench CPU":>11}')
    for phase, fig in ((single, s), (load, lo)):
        print(
            f'{phase.name:28}{fig["n"]:>6.0f}{fig["p50"]:>9.1f}{fig["p95"]:>9.1f}{fig["max"]:>9.1f}'
            f'{phase.server_cpu_s / phase.seconds:>11.0%}{phase.bench_cpu_s / phase.seconds:>11.0%}'
        )
    print(f'p95 ratio {load.clients} clients / 1 client: {ratio:.2f}')
    print(
        f'throughput: {confirmed / load.seconds:.1f} entries/s confirmed '
        f'(offered {load.clients / args.interval:.1f}/s); '
        f'server CPU per confirmed entry: {1000 * load.server_cpu_s / max(confirmed, 1):.1f} ms '
        f'(1 client: {1000 * single.server_cpu_s / max(single.total("confirmed"), 1):.1f} ms)'
    )
    print()
    print(f'movements attempted {attempted}, confirmed {confirmed}, committed {committed}')
    print(
        f'  per client committed = confirmed: {per_client_match}; quantities match: {qty_match}; '
        f'request ids used twice: {db.duplicate_request_ids}; replays shown: {load.total("replayed")}; '
        f'errors/timeouts: {len(errors)}'
    )
    print(f'  1-client phase: attempted {single.total("attempted")}, committed {single_committed}')
    print(f'  balances consistent with movements (check_consistency): {db.consistent}')
    for line in db.mismatches[:5] + errors[:5]:
        print(f'    {line}')
    print()
    print(
        f'server RSS: {rss["start"] / 1024:.1f} MB at start, {rss["idle"] / 1024:.1f} MB with 0 clients after warm-up, '
        f'{rss["open"] / 1024:.1f} MB just after {load.clients} opened, {rss["end"] / 1024:.1f} MB with '
        f'{load.clients} connected after the run'
    )
    print(f'  per connected kiosk: {per_client_kb:.0f} kB ((end − 0 clients) / {load.clients})')
    print()
    ok_count = (
        attempted == committed == confirmed
        and per_client_match
        and qty_match
        and db.duplicate_request_ids == 0
        and load.total('replayed') == 0
        and db.consistent
    )
    checks = [
        (f'p95 ≤ {P95_TARGET_MS:.0f} ms at {load.clients} clients', lo['p95'] <= P95_TARGET_MS, f'{lo["p95"]:.1f} ms'),
        ('≤ 1 MB per connected kiosk', per_client_kb <= RSS_TARGET_KB, f'{per_client_kb:.0f} kB'),
        (
            'committed = attempted = confirmed, none duplicated, consistent',
            ok_count,
            f'{committed} committed / {attempted} attempted / {confirmed} confirmed',
        ),
    ]
    for name, ok, value in checks:
        print(f'  {"MET   " if ok else "MISSED"} {name}: {value}')
    return all(ok for _, ok, _ in checks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--clients', type=int, default=50, help='concurrent kiosk clients (default 50)')
    parser.add_argument('--seconds', type=float, default=60.0, help='length of the load phase (default 60)')
    parser.add_argument('--interval', type=float, default=2.0, help='seconds between entries per client (default 2)')
    parser.add_argument('--single-entries', type=int, default=40, help='timed entries of the 1-client baseline')
    parser.add_argument(
        '--single-interval', type=float, default=0.5, help='seconds between the 1-client entries (default 0.5)'
    )
    parser.add_argument('--mode', choices=MODES, default='badge', help='how operators sign in (default badge)')
    parser.add_argument('--profile', metavar='PREFIX', help='profile the server event loop during the load')
    args = parser.parse_args()
    args.load_at_start = os.getloadavg()[0]
    if not 1 <= args.clients <= 200 or not 1 <= args.seconds <= 300:
        parser.error('--clients 1..200, --seconds 1..300')

    started = time.monotonic()
    # Shared with the server: badges and enrollment codes are keyed hashes under this secret.
    secret = secrets.token_urlsafe(32)
    os.environ['SESSION_SECRET'] = secret
    from potrack.config import reset_settings

    reset_settings()
    env = {'SESSION_SECRET': secret}
    module_args: tuple[str, ...] = ('-m', 'potrack', 'serve')
    if args.profile:
        env['BENCH_PROFILE_OUT'] = str(Path(args.profile).resolve())
        root = str(Path(__file__).resolve().parent.parent)
        env['PYTHONPATH'] = os.pathsep.join(p for p in (root, os.environ.get('PYTHONPATH', '')) if p)
        module_args = ('-m', 'bench.profiled_serve')
    with scratch_postgres('bench_kiosk_') as url, running_server(url, env, module_args) as server:
        print(f'potrack serve pid {server.pid} on {server.base_url}; database {url.rsplit("/", 1)[1]}')
        names = [f'bench-k{i:02d}' for i in range(args.clients + 1)]
        create_operators(url, names, PASSWORD, DEPARTMENT)
        orders = {'BENCH-W00': WORK_CENTERS[0], 'BENCH-S00': WORK_CENTERS[0]}
        for i in range(1, args.clients + 1):
            orders[f'BENCH-L{i:02d}'] = WORK_CENTERS[(i - 1) % len(WORK_CENTERS)]
        add_orders(url, orders)
        credentials = device_credentials(url, names) if args.mode == 'badge' else {}
        try:
            single, load, rss = asyncio.run(measure(server, args, credentials))
        except UiError as exc:
            print(f'benchmark failed: {exc}\n--- server log ---\n{server.log_tail()}')
            return 1
        db = check_database(url)
        met = print_report(args, single, load, rss, db)
    print(f'whole run {time.monotonic() - started:.0f} s')
    return 0 if met else 2


if __name__ == '__main__':
    sys.exit(main())
