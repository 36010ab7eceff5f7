"""Running bench/record.py's phases: each worker's plan of orders, and phases that alternate in rounds.

Phases compared with each other take turns, so that a change in the machine's load (other engineers'
tests on a shared machine) affects every side alike: on one connection operation by operation, from
threads in ROUNDS alternating blocks. Each stops at its share of the phase's time limit, so a run is
bounded however slow the machine is; each round's time per operation is kept, so a ratio can be shown
with its spread over the rounds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.common import Timings

ORDERS_PER_WORKER = 50
ROUNDS = 8
WARM_OPS = 20  # untimed, per connection: the first calls prepare statements and fill caches

Op = Callable[[str, str, int], None]  # (order number, IN/OUT, quantity)
Maker = Callable[[], Op]  # one op (its own connection, for the raw ones) per thread


def op_plan(i: int, prefix: str) -> tuple[str, str, int]:
    """The i-th operation of a worker: IN 2 then OUT 1 of the same order, over ORDERS_PER_WORKER orders.

    Each worker's OUT follows its own IN of the same order, so no OUT can be refused, however the
    workers interleave.
    """
    order = f'{prefix}-{(i // 2) % ORDERS_PER_WORKER:03d}'
    return (order, 'IN', 2) if i % 2 == 0 else (order, 'OUT', 1)


def prefixes(key: str, threads: int) -> list[str]:
    """Every order-number prefix the phases of `key` use (op_plan adds the order's -NNN)."""
    return [f'{key}-WARM', f'{key}-SEQ'] + [f'{key}-{kind}{n}' for kind in ('TW', 'T') for n in range(threads)]


def order_numbers(key: str, threads: int) -> list[str]:
    return [op_plan(2 * k, prefix)[0] for prefix in prefixes(key, threads) for k in range(ORDERS_PER_WORKER)]


def run_ops(op: Op, prefix: str, start: int, count: int, latencies: list[float], deadline: float) -> None:
    for i in range(start, start + count):
        if time.perf_counter() > deadline:
            return
        order, kind, qty = op_plan(i, prefix)
        t0 = time.perf_counter()
        op(order, kind, qty)
        latencies.append(time.perf_counter() - t0)


@dataclass
class Series(Timings):
    """Timings gathered over the rounds, with each round's seconds per operation."""

    per_round: list[float] = field(default_factory=list)

    @property
    def ms_per_op(self) -> float:
        return self.wall_s / self.ops * 1000 if self.ops else float('inf')

    def add(self, latencies: list[float], wall_s: float, cpu_s: float) -> None:
        self.latencies.extend(latencies)
        self.wall_s += wall_s
        self.cpu_s += cpu_s
        if latencies:
            self.per_round.append(wall_s / len(latencies))


def round_ratios(top: Series, bottom: Series) -> list[float]:
    """top ÷ bottom time per operation, round by round."""
    return [t / b for t, b in zip(top.per_round, bottom.per_round, strict=False) if b]


def sequential(phases: dict[str, tuple[str, Op]], ops: int, max_seconds: float) -> dict[str, Series]:
    """Each phase (key → (label, op)) on its one connection, their operations taking turns one by one; warm-up
    untimed. Split in ROUNDS for the spread; stops after `max_seconds` per phase."""
    for key, (_, op) in phases.items():
        run_ops(op, f'{key}-WARM', 0, WARM_OPS, [], float('inf'))
    result = {key: Series(label, []) for key, (label, _) in phases.items()}
    per_round = max(2, ops // ROUNDS // 2 * 2)  # even: a round starts with an IN
    deadline = time.perf_counter() + max_seconds * len(phases)
    for r in range(ROUNDS):
        spent: dict[str, tuple[list[float], float]] = {key: ([], 0.0) for key in phases}  # latencies, CPU s
        for i in range(r * per_round, (r + 1) * per_round):
            if time.perf_counter() > deadline and i % 2 == 0:  # never between an IN and its OUT
                break
            turn = list(phases.items())
            for key, (_, op) in turn if i % 2 == 0 else reversed(turn):  # neither side always goes first
                latencies, cpu_s = spent[key]
                cpu = time.process_time()
                run_ops(op, f'{key}-SEQ', i, 1, latencies, float('inf'))
                spent[key] = (latencies, cpu_s + time.process_time() - cpu)
        for key, (latencies, cpu_s) in spent.items():
            result[key].add(latencies, sum(latencies), cpu_s)
    return result


def threaded(phases: dict[str, tuple[str, Maker]], threads: int, ops: int, max_seconds: float) -> dict[str, Series]:
    """Each phase from `threads` workers (each its own op and orders) started together, alternating in ROUNDS blocks."""
    made = {key: [make() for _ in range(threads)] for key, (_, make) in phases.items()}
    for key, ops_made in made.items():
        for n, op in enumerate(ops_made):
            run_ops(op, f'{key}-TW{n}', 0, 4, [], float('inf'))
    result = {key: Series(label, []) for key, (label, _) in phases.items()}
    done = {key: [0] * threads for key in made}  # each worker's next operation
    per_thread = max(2, ops // threads // ROUNDS)
    for _ in range(ROUNDS):
        for key, ops_made in made.items():
            _threaded_block(ops_made, key, done[key], per_thread, max_seconds / ROUNDS, result[key])
    return result


def _threaded_block(
    ops_made: list[Op], key: str, done: list[int], count: int, max_seconds: float, into: Series
) -> None:
    """One round: worker n runs op_plan's operations done[n] … done[n] + count - 1, or until the time is up."""
    lists: list[list[float]] = [[] for _ in ops_made]
    barrier = threading.Barrier(len(ops_made) + 1)
    errors: list[BaseException] = []
    deadline = float('inf')  # set below, before the workers pass the barrier

    def worker(n: int) -> None:
        barrier.wait()
        try:
            run_ops(ops_made[n], f'{key}-T{n}', done[n], count, lists[n], deadline)
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(len(ops_made))]
    for w in workers:
        w.start()
    deadline = time.perf_counter() + max_seconds
    started, cpu = time.perf_counter(), time.process_time()
    barrier.wait()
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    for n, latencies in enumerate(lists):
        done[n] += len(latencies)
    into.add([x for lst in lists for x in lst], time.perf_counter() - started, time.process_time() - cpu)
