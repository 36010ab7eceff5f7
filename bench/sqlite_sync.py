"""What durability costs on SQLite: `record_movement` with PRAGMA synchronous=FULL against NORMAL.

    python bench/sqlite_sync.py [--ops 2000] [--dir DIR]
    (or python -m bench.sqlite_sync …)

One SQLite file in WAL mode (in --dir, default the working directory: put it on the disk the site
uses, since a tmpfs syncs for free), two Databases on it that differ only in POTRACK_SQLITE_SYNCHRONOUS,
one connection each, calls one after the other as a kiosk's entries are. The two modes alternate in
ROUNDS blocks, so a change in machine load affects both alike. FULL syncs the WAL at every commit;
NORMAL only at checkpoints, so a power cut may lose the last acknowledged movements.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ''):  # run as a script: python bench/sqlite_sync.py
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# Its entries name orders it never books: measured as the write path takes any order (bench/record.py
# measures the order book's look-up).
os.environ.setdefault('POTRACK_UNKNOWN_ORDERS', 'allow')

from bench.common import Timings, machine_note, prepared_database, print_table
from bench.record_runs import ROUNDS, run_ops
from bench.record_sides import service_op, setup
from potrack.config import SQLITE_SYNCHRONOUS, settings
from potrack.db import Database
from potrack.ledger.integrity import check_consistency


def measure(path: Path, ops: int, max_seconds: float) -> dict[str, Timings]:
    """`ops` record_movement calls per mode on the file `path`, alternating FULL and NORMAL blocks."""
    url = f'sqlite:///{path}'
    setup_db = prepared_database(url, pool_size=1)
    actor, centers = setup(setup_db)
    setup_db.dispose()
    dbs = {
        mode: Database(url, cfg=dataclasses.replace(settings(), sqlite_synchronous=mode)) for mode in SQLITE_SYNCHRONOUS
    }
    result = {mode: Timings(f'record_movement, synchronous={mode}', []) for mode in SQLITE_SYNCHRONOUS}
    try:
        for mode, db in dbs.items():
            run_ops(service_op(db, actor, centers), f'WARM-{mode}', 0, 20, [], float('inf'))
        per_round = max(2, ops // ROUNDS)
        for r in range(ROUNDS):
            for mode, db in dbs.items():
                timings = result[mode]
                started, cpu = time.perf_counter(), time.process_time()
                deadline = started + max_seconds / ROUNDS
                run_ops(
                    service_op(db, actor, centers),
                    f'SYNC-{mode}',
                    r * per_round,
                    per_round,
                    timings.latencies,
                    deadline,
                )
                timings.wall_s += time.perf_counter() - started
                timings.cpu_s += time.process_time() - cpu
    finally:
        for db in dbs.values():
            db.dispose()
    report = check_consistency(check_db := Database(url))
    check_db.dispose()
    if not report.consistent:
        raise SystemExit('the ledger is inconsistent after the run')
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--ops', type=int, default=2000, help='record_movement calls per mode (default 2000)')
    parser.add_argument('--max-seconds', type=float, default=60.0, help='stop a mode after this long (default 60)')
    parser.add_argument('--dir', type=Path, default=Path.cwd(), help='where the scratch SQLite file goes (default .)')
    args = parser.parse_args(argv)
    print(machine_note())
    with tempfile.TemporaryDirectory(prefix='potrack-bench-sync-', dir=args.dir) as folder:
        print(f'scratch SQLite file in {folder} ({_filesystem(Path(folder))})')
        result = measure(Path(folder) / 'potrack.db', args.ops, args.max_seconds)
    full, normal = result['FULL'], result['NORMAL']
    print()
    print(machine_note())
    print_table(
        ['recording IN/OUT on SQLite', 'ops', 'seconds', 'ops/s', 'p50 ms', 'p95 ms'],
        [[t.label, t.ops, t.wall_s, t.ops_per_s, t.p50, t.p95] for t in (full, normal)],
    )
    ratio = full.ops_per_s / normal.ops_per_s if normal.ops_per_s else 0.0
    print(f'FULL/NORMAL throughput: {ratio:.2f} (p50 {full.p50:.2f} ms vs {normal.p50:.2f} ms)')
    return 0


def _filesystem(path: Path) -> str:
    """The mount's file system type, as /proc/mounts names it (tmpfs would make the sync free)."""
    try:
        mounts = [line.split() for line in Path('/proc/mounts').read_text().splitlines()]
    except OSError:
        return 'file system unknown'
    resolved = str(path.resolve())
    best = max((m for m in mounts if resolved.startswith(m[1])), key=lambda m: len(m[1]), default=None)
    return f'{best[2]} on {best[1]}' if best else 'file system unknown'


if __name__ == '__main__':
    sys.exit(main())
