"""Does bcrypt block the event loop? A trivial UI action's p95 while 8 sign-ins run, against its idle p95.

Issue: "while 8 sign-ins run at once, a trivial UI action on another client keeps its p95 within
1.5 × its idle p95 — proof that bcrypt never blocks the event loop".

A `potrack serve` subprocess (SQLite, default bcrypt cost 12) on 127.0.0.1; every step goes through
HTTP and the socket.io websocket as a browser's would (bench/ui_client.py). The probe: an operator on
/kiosk presses keypad keys ('7', then backspace, ...); timed from sending the click to the arrival of the
server's update of the quantity field: one event-loop round trip, no database, no thread. Every
`--write-every`-th probe the operator also records an IN (click → 'Saved:'): a database write through
run.io_bound's thread pool. (The server runs bcrypt on its own low-priority threads: potrack/password_work.py.)

Phases, each with the same probe:
  idle                        the baseline
  8 sign-ins at once, cost 12 the issue's figure: 8 simulated browsers each keep the sign-in page open and
                              submit their credentials again and again, so 8 sign-ins are always running
  8 whole journeys, cost 12   each time a new browser: load /signin, submit, follow the ticket for the
                              cookie; adds the event-loop work of serving pages
  control: at once, cost 4    the same sign-ins at the same rate with cheap hashes: their work without bcrypt
  control: journeys, cost 4   the same journeys at the same rate with cheap hashes: that page work alone
  control: bcrypt elsewhere   6 threads run bcrypt cost 12 at normal priority in another process: what
                              bcrypt's CPU does to the probe on this machine without the server's niceness
The load runs in a separate process so that its client-side work cannot delay the probe's own loop.

    python -m bench.signin [--probes 300] [--signers 8] [--max-seconds 45] [--bcrypt-threads N]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ui_client import (
    Page,
    Server,
    UiError,
    browser,
    create_operators,
    running_server,
    sign_in,
    summary_ms,
)

PASSWORD = 'Bench-signin-2024!'
DEPARTMENT = 'Production'
GOAL_RATIO = 1.5
PROBE_GAP_S = 0.02  # between probes: samples spread over the sign-ins' phases
PROBE_TIMEOUT_S = 15.0
IO_POOL_THREADS = min(32, (os.cpu_count() or 1) + 4)  # NiceGUI's run.io_bound pool (ThreadPoolExecutor default)


@dataclass
class PhaseResult:
    name: str
    taps: list[float]
    writes: list[float]
    seconds: float
    server_cpu: float
    signins: int = 0
    signin_seconds: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Probe:
    """An operator's kiosk page: keypad taps answered by the field's update, now and then a recorded IN."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.qty = page.find(label='Quantity (pieces)')
        self.order = page.find(label='Order number')
        self.in_button = page.find(label='IN', tag='q-btn')
        self.status = page.find(props={'role': 'status'})
        self.keys = [page.find(label='7', tag='q-btn'), page.find(label='⌫', tag='q-btn')]
        self.count = 0

    async def choose(self, work_center: str) -> None:
        await self.page.click(self.page.ancestor(self.page.find(text=work_center), 'q-btn'))
        await self.page.wait_for(lambda: not self.page.prop(self.in_button, 'disable', False), PROBE_TIMEOUT_S)

    async def tap(self) -> float:
        before = self.page.prop(self.qty, 'value')
        key = self.keys[self.count % 2]
        self.count += 1
        sent = await self.page.click(key)
        _, arrived = await self.page.wait_for(lambda: self.page.prop(self.qty, 'value') != before, PROBE_TIMEOUT_S)
        return arrived - sent

    async def write(self) -> float:
        await self.page.set_value(self.order, 'PO-PROBE')
        await self.page.set_value(self.qty, '1')
        before = self.page.text(self.status)
        sent = await self.page.click(self.in_button)
        text, arrived = await self.page.wait_for(
            lambda: self.page.text(self.status) != before and self.page.text(self.status), PROBE_TIMEOUT_S
        )
        if not text.startswith('Saved:'):
            raise UiError(f'probe write not saved: {text}')
        await self.page.wait_for(lambda: self.page.prop(self.qty, 'value') == '', PROBE_TIMEOUT_S)
        return arrived - sent

    async def run(self, n: int, deadline: float, write_every: int) -> tuple[list[float], list[float]]:
        taps: list[float] = []
        writes: list[float] = []
        for i in range(n):
            if time.monotonic() > deadline:
                break
            taps.append(await self.tap())
            if write_every and i % write_every == write_every - 1:
                writes.append(await self.write())
            await asyncio.sleep(PROBE_GAP_S)
        return taps, writes


# --- the loads, each in its own process ---------------------------------------------------------------------


async def signer_loop(
    base_url: str, username: str, stop: asyncio.Event, out: PhaseResult, every_s: float, offset_s: float
) -> None:
    """Sign in through the page again and again, each time as a new browser, until told to stop.

    every_s > 0 paces the loop to one sign-in start per every_s seconds (0: back to back).
    """
    next_at = time.monotonic() + offset_s
    while not stop.is_set():
        if every_s:
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
            next_at = max(next_at + every_s, time.monotonic())
        async with browser(base_url) as http:
            try:
                result = await sign_in(http, username, PASSWORD)
            except (UiError, OSError) as exc:
                out.errors.append(f'{username}: {exc}')
                await asyncio.sleep(0.5)
                continue
        out.signins += 1
        out.signin_seconds.append(result.seconds)


async def submit_loop(
    base_url: str, username: str, stop: asyncio.Event, out: PhaseResult, every_s: float, offset_s: float
) -> None:
    """Keep one sign-in page open and submit the credentials again and again: the sign-in itself
    (the server's click handler: bcrypt and the session), without loading pages.

    The page stays: after a sign-in the server tells it to navigate, which this browser does not follow.
    """
    async with browser(base_url) as http:
        page = await Page.open(http, '/signin')
        try:
            name, password = page.find(label='User name'), page.find(label='Password')
            button, alert = page.find(label='Sign in'), page.find(props={'role': 'alert'})
            await page.set_value(name, username)
            await asyncio.sleep(offset_s)
            while not stop.is_set():
                await page.set_value(password, PASSWORD)
                before = len(page.navigations)
                started = time.monotonic()
                sent = await page.click(button)
                try:
                    _, arrived = await page.wait_for(
                        lambda n=before: len(page.navigations) > n or page.text(alert), PROBE_TIMEOUT_S
                    )
                except UiError as exc:
                    out.errors.append(f'{username}: {exc}')
                    return
                if len(page.navigations) == before:
                    out.errors.append(f'{username}: refused: {page.text(alert)}')
                    return
                out.signins += 1
                out.signin_seconds.append(arrived - sent)
                if every_s:
                    await asyncio.sleep(max(0.0, started + every_s - time.monotonic()))
        finally:
            await page.close()


async def signers_main(
    base_url: str, names: list[str], rate: float, mode: str, stop_flag: EventType, max_seconds: float
) -> PhaseResult:
    out = PhaseResult('signers', [], [], 0.0, 0.0)
    stop = asyncio.Event()
    every_s = len(names) / rate if rate else 0.0
    loop = submit_loop if mode == 'submit' else signer_loop
    tasks = [
        asyncio.create_task(loop(base_url, name, stop, out, every_s, i * every_s / len(names)))
        for i, name in enumerate(names)
    ]
    deadline = time.monotonic() + max_seconds
    while not stop_flag.is_set() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=60)
    except TimeoutError:
        out.errors.append('sign-in loops did not stop within 60 s')
    return out


def signers_process(
    base_url: str, names: list[str], rate: float, mode: str, stop_flag: EventType, out: Queue, max_seconds: float
) -> None:
    """`names` sign in again and again, back to back (rate 0) or paced to `rate` sign-ins per second in all.

    mode 'submit': on pages kept open (the sign-in alone); 'journey': each time a new browser loads the
    page, signs in and follows the ticket to its cookie.
    """
    try:
        result = asyncio.run(signers_main(base_url, names, rate, mode, stop_flag, max_seconds))
    except Exception as exc:  # report it to the parent instead of leaving it waiting
        out.put((0, [], [f'sign-in process failed: {exc!r}']))
        raise
    out.put((result.signins, result.signin_seconds, result.errors))


def bcrypt_process(threads: int, stop_flag: EventType, out: Queue, max_seconds: float) -> None:
    """bcrypt cost 12 in `threads` threads until told to stop: the CPU of the sign-ins, without the server."""
    import bcrypt

    hashed = bcrypt.hashpw(b'control', bcrypt.gensalt(12))
    deadline = time.monotonic() + max_seconds
    counts = [0] * threads

    def work(i: int) -> None:
        while not stop_flag.is_set() and time.monotonic() < deadline:
            bcrypt.checkpw(b'control', hashed)
            counts[i] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((sum(counts), [], []))


# --- measuring ---------------------------------------------------------------------------------------------


def count_signins(server: Server) -> int:
    """Sign-ins the server has logged so far (potrack's auth log line 'event=signin')."""
    return server.log_path.read_text(errors='replace').count('event=signin ')


async def wait_for_signins(server: Server, at_least: int, timeout: float = 60.0) -> None:
    """Until the sign-in load is in full swing: `at_least` more sign-ins logged by the server."""
    start = count_signins(server)
    deadline = time.monotonic() + timeout
    while count_signins(server) - start < at_least and time.monotonic() < deadline:
        await asyncio.sleep(0.1)


async def run_phase(
    name: str,
    server: Server,
    probe: Probe,
    args: argparse.Namespace,
    load: tuple[Callable[..., None], tuple[object, ...]] | None,
    warm_signins: int = 0,
) -> PhaseResult:
    worker = None
    ctx = multiprocessing.get_context('spawn')
    stop_flag, out = ctx.Event(), ctx.Queue()
    if load is not None:
        worker = ctx.Process(target=load[0], args=(*load[1], stop_flag, out, args.max_seconds + 15), daemon=True)
        worker.start()
    try:
        if warm_signins:
            await wait_for_signins(server, warm_signins)
        elif worker is not None:
            await asyncio.sleep(1.0)
        cpu0, t0, n0 = server.cpu_seconds(), time.monotonic(), count_signins(server)
        taps, writes = await probe.run(args.probes, t0 + args.max_seconds, args.write_every)
        seconds = time.monotonic() - t0
        result = PhaseResult(name, taps, writes, seconds, (server.cpu_seconds() - cpu0) / max(seconds, 1e-9))
        result.signins = count_signins(server) - n0
    finally:
        stop_flag.set()
        if worker is not None:
            done, signin_seconds, errors = await asyncio.to_thread(out.get, True, 90)
            worker.join(timeout=10)
            if worker.is_alive():
                worker.terminate()
    if load is not None:
        result.signin_seconds, result.errors = signin_seconds, errors
        if load[0] is bcrypt_process:
            result.signins = done  # bcrypt checks done by the control process
    return result


async def measure(server: Server, args: argparse.Namespace, signers12: list[str], signers4: list[str]) -> None:
    async with browser(server.base_url) as http:
        warm = await sign_in(http, 'bench-probe', PASSWORD)  # also warms bcrypt, the pool and the page code
        page = await Page.open(http, '/kiosk')
        try:
            probe = Probe(page)
            await probe.choose('WC001')
            await probe.run(30, time.monotonic() + args.max_seconds, 10)  # warm-up, not counted
            base = server.base_url
            phases = [
                await run_phase('idle (baseline)', server, probe, args, None),
                await run_phase(
                    f'{len(signers12)} sign-ins at once, cost 12',
                    server,
                    probe,
                    args,
                    (signers_process, (base, signers12, 0.0, 'submit')),
                    2 * len(signers12),
                ),
            ]
            if not args.no_controls:
                rate = phases[1].signins / max(phases[1].seconds, 1e-9)
                phases.append(
                    await run_phase(
                        f'control: at once, cost 4, {rate:.1f}/s',
                        server,
                        probe,
                        args,
                        (signers_process, (base, signers4, rate, 'submit')),
                        len(signers4),
                    )
                )
                journeys = await run_phase(
                    f'{len(signers12)} whole journeys, cost 12',
                    server,
                    probe,
                    args,
                    (signers_process, (base, signers12, 0.0, 'journey')),
                    2 * len(signers12),
                )
                rate = journeys.signins / max(journeys.seconds, 1e-9)
                phases += [
                    journeys,
                    await run_phase(
                        f'control: journeys, cost 4 at {rate:.1f}/s',
                        server,
                        probe,
                        args,
                        (signers_process, (base, signers4, rate, 'journey')),
                        len(signers4),
                    ),
                    await run_phase(
                        f'control: {IO_POOL_THREADS} bcrypt thr. elsewhere',
                        server,
                        probe,
                        args,
                        (bcrypt_process, (IO_POOL_THREADS,)),
                    ),
                ]
        finally:
            await page.close()
    report(args, warm.seconds, phases)


def report(args: argparse.Namespace, warm_signin_s: float, phases: list[PhaseResult]) -> None:
    print()
    print(
        f'potrack sign-in vs event loop: SQLite, bcrypt cost 12, {os.cpu_count()} CPUs, '
        f'bcrypt threads {args.bcrypt_threads or "default"}, '
        f'load average now {os.getloadavg()[0]:.1f}; probe = keypad tap (loop round trip), write = IN click → Saved:'
    )
    print(
        f'{"phase":34}{"taps":>6}{"p50 ms":>9}{"p95 ms":>9}{"max ms":>9}{"writes":>8}{"p50 ms":>9}{"p95 ms":>9}'
        f'{"server CPU":>12}{"sign-ins/s":>12}'
    )
    for p in phases:
        t, w = summary_ms(p.taps), summary_ms(p.writes)
        rate = f'{p.signins / max(p.seconds, 1e-9):>12.1f}' if not p.name.startswith('idle') else f'{"":>12}'
        print(
            f'{p.name:34}{t["n"]:>6.0f}{t["p50"]:>9.1f}{t["p95"]:>9.1f}{t["max"]:>9.1f}'
            f'{w["n"]:>8.0f}{w["p50"]:>9.1f}{w["p95"]:>9.1f}{p.server_cpu:>11.0%}{rate}'
        )
    if len(phases) > 3:
        print('(the last phase\'s "sign-ins/s" is bcrypt checks/s in the control process)')
    idle, loaded = summary_ms(phases[0].taps), summary_ms(phases[1].taps)
    s = summary_ms(phases[1].signin_seconds)
    print(
        f'sign-in, click → navigation, {phases[1].name}: p50 {s["p50"]:.0f} ms, p95 {s["p95"]:.0f} ms '
        f'({s["n"]:.0f} sign-ins); first sign-in (cold) {warm_signin_s * 1000:.0f} ms'
    )
    errors = [e for p in phases for e in p.errors]
    if errors:
        print(f'sign-in errors: {len(errors)}, e.g. {errors[0]}')
    for p in phases[1:]:
        t = summary_ms(p.taps)
        print(f'  tap p95 ratio, {p.name} / idle: {t["p95"] / idle["p95"]:.2f}')
    ratio = loaded['p95'] / idle['p95'] if idle['p95'] > 0 else float('inf')
    verdict = 'MET' if ratio <= GOAL_RATIO else 'MISSED'
    print(
        f'GOAL tap p95 during sign-ins ≤ {GOAL_RATIO} × idle p95: {ratio:.2f} × '
        f'({loaded["p95"]:.1f} ms / {idle["p95"]:.1f} ms) {verdict}'
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--probes', type=int, default=300, help='probe taps per phase (default 300)')
    parser.add_argument('--signers', type=int, default=8, help='concurrent sign-in loops (default 8)')
    parser.add_argument('--max-seconds', type=float, default=45.0, help='time limit per phase (default 45)')
    parser.add_argument('--write-every', type=int, default=10, help='an IN after every n-th tap (0: none)')
    parser.add_argument('--no-controls', action='store_true', help='only the idle and the cost-12 phases')
    parser.add_argument(
        '--bcrypt-threads',
        type=int,
        default=0,
        help="the server's POTRACK_BCRYPT_THREADS (default: its own, the cores)",
    )
    args = parser.parse_args()
    if not 10 <= args.probes <= 5000 or not 1 <= args.signers <= 64 or not 1 <= args.max_seconds <= 300:
        parser.error('--probes 10..5000, --signers 1..64, --max-seconds 1..300')

    from potrack.config import reset_settings, settings

    signers12 = [f'bench-s{i}' for i in range(1, args.signers + 1)]
    signers4 = [f'bench-c{i}' for i in range(1, args.signers + 1)]
    extra = {'POTRACK_UNKNOWN_ORDERS': 'allow'}  # the probe's IN goes to an order the book does not know
    if args.bcrypt_threads:
        extra['POTRACK_BCRYPT_THREADS'] = str(args.bcrypt_threads)
    with running_server(None, extra) as server:  # POTRACK_BCRYPT_ROUNDS unset for the server: cost 12
        print(f'potrack serve pid {server.pid} on {server.base_url}; creating users')
        # The users' hashes are made here and their cost is what the server's check costs.
        for rounds, names in (('12', ['bench-probe', *signers12]), ('4', signers4)):
            os.environ['POTRACK_BCRYPT_ROUNDS'] = rounds
            reset_settings()
            assert settings().bcrypt_rounds == int(rounds)
            create_operators(server.effective_database_url, names, PASSWORD, DEPARTMENT)
        os.environ.pop('POTRACK_BCRYPT_ROUNDS')
        reset_settings()
        try:
            asyncio.run(measure(server, args, signers12, signers4))
        except UiError as exc:
            print(f'benchmark failed: {exc}\n--- server log ---\n{server.log_tail()}')
            return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
