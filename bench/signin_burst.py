"""How long do 30 sign-ins at once take? Against 30 × one bcrypt check ÷ cores, measured in the same run.

Issue 17 (4): 30 sign-ins started together (a shift arriving) took 33.6 s on 2 cores, when bcrypt alone
needs 30 × ~0.24 s ÷ 2 ≈ 3.6 s. The sign-ins go exactly the way a page sends them: `sign_in` on the
sign-in threads (password_work.submit), bcrypt on its low-priority pool, the throttle and the session
in the database. Each sign-in comes from an address of its own with the right password, so no
slowdown is involved: what is measured is the work.

In this process, on a scratch SQLite file (or `--database-url`, e.g. a PostgreSQL database that is
migrated and provisioned here), bcrypt cost 12. Baseline: one check on the same pool, one at a time
(the median of `--checks`). The figure: the burst's time ÷ (30 × that check ÷ cores).

    python -m bench.signin_burst [--signins 30] [--rounds 3] [--bcrypt-threads N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import wait
from pathlib import Path

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = 'Bench-burst-2024!'
DEPARTMENT = 'Production'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--signins', type=int, default=30, help='sign-ins started at once (default 30)')
    parser.add_argument('--rounds', type=int, default=3, help='bursts measured; the median is the figure')
    parser.add_argument('--checks', type=int, default=7, help='single bcrypt checks for the baseline')
    parser.add_argument('--bcrypt-threads', type=int, default=0, help='POTRACK_BCRYPT_THREADS (default: the cores)')
    parser.add_argument('--database-url', default='', help='a database to use (default: a scratch SQLite file)')
    args = parser.parse_args()
    if not 1 <= args.signins <= 500 or not 1 <= args.rounds <= 20 or not 1 <= args.checks <= 50:
        parser.error('--signins 1..500, --rounds 1..20, --checks 1..50')

    scratch = tempfile.TemporaryDirectory(prefix='potrack_bench_burst_')
    os.environ['POTRACK_DATA_DIR'] = scratch.name
    os.environ['DATABASE_URL'] = args.database_url or f'sqlite:///{Path(scratch.name) / "potrack.db"}'
    os.environ['POTRACK_BCRYPT_ROUNDS'] = '4'  # the users are made cheaply; their hash is set to cost 12 below
    if args.bcrypt_threads:
        os.environ['POTRACK_BCRYPT_THREADS'] = str(args.bcrypt_threads)

    import bcrypt
    from sqlalchemy import update
    from sqlmodel import col

    from bench.ui_client import create_operators
    from potrack.accounts import password_work, security
    from potrack.accounts.signin import sign_in
    from potrack.config import cpu_cores, reset_settings, settings
    from potrack.db import Database, use_database
    from potrack.db.models import User
    from potrack.ops.provision import provision
    from potrack.ops.upgrade import upgrade

    reset_settings()
    db = Database()
    use_database(db)
    upgrade(db)
    provision(db)
    names = [f'burst-{i}' for i in range(args.signins)]
    create_operators(db.url, names, PASSWORD, DEPARTMENT)
    os.environ['POTRACK_BCRYPT_ROUNDS'] = '12'
    reset_settings()
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(12)).decode()
    with db.engine.begin() as conn:
        conn.execute(update(User).where(col(User.username).in_(names)).values(password_hash=hashed))

    cores, threads = cpu_cores(), settings().bcrypt_threads
    checks = []
    for _ in range(args.checks):
        started = time.perf_counter()
        assert security.verify_password(PASSWORD, hashed)
        checks.append(time.perf_counter() - started)
    check_s = statistics.median(checks)
    bursts = []
    for round_no in range(args.rounds):
        sources = [f'10.{round_no}.{i // 250}.{i % 250}' for i in range(args.signins)]
        started = time.perf_counter()
        futures = [password_work.submit(sign_in, n, PASSWORD, source=s) for n, s in zip(names, sources, strict=True)]
        wait(futures)
        bursts.append(time.perf_counter() - started)
        failed = [f.exception() for f in futures if f.exception() is not None]
        if failed:
            print(f'round {round_no + 1}: {len(failed)} sign-ins failed, e.g. {failed[0]!r}')
            return 1
    burst_s = statistics.median(bursts)
    ideal_s = args.signins * check_s / cores
    print(
        f'potrack sign-in burst: {args.signins} sign-ins at once, bcrypt cost 12, {cores} cores, '
        f'{threads} bcrypt threads, caller threads {password_work.CALLER_THREADS}, '
        f'{db.dialect}, load average now {os.getloadavg()[0]:.1f}'
    )
    print(f'one bcrypt check on the pool (median of {args.checks}): {check_s * 1000:.0f} ms')
    print(f'bursts: {", ".join(f"{b:.2f} s" for b in bursts)}; median {burst_s:.2f} s')
    print(
        f'RATIO burst / ({args.signins} × one check ÷ {cores} cores = {ideal_s:.2f} s): {burst_s / ideal_s:.2f}; '
        f'per sign-in {burst_s / args.signins * 1000:.0f} ms'
    )
    db.dispose()
    scratch.cleanup()
    return 0


if __name__ == '__main__':
    sys.exit(main())
