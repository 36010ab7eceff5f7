"""`potrack backup` and `potrack restore`."""

from __future__ import annotations

import argparse

from potrack.cli.database import open_database
from potrack.cli.registry import Add
from potrack.config import settings


def cmd_backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from potrack.ops.backup import backup, describe_counts

    db = open_database(migrate=False, provision=False, create=False)  # a mistyped SQLite path is refused
    counts = backup(db, Path(args.out))
    print(f'wrote {Path(args.out).resolve()}: {describe_counts(counts)}')
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from pathlib import Path

    from potrack.ops.backup import describe_counts, restore

    db = open_database(migrate=False, provision=False, create=False)  # a failed restore leaves no new file
    result = restore(db, Path(args.file), force=args.force)
    print(f'restored {args.file} into {settings().database_label()}')
    print(f'  {describe_counts(result.counts)}')
    if not result.check.consistent:
        print(f'INCONSISTENT: {len(result.check.mismatches)} mismatch(es); run potrack check for details')
        return 1
    print(f'consistent: {result.check.balance_rows} balance rows match {result.check.movements} movements')
    return 0


def register(add: Add) -> None:
    p = add('backup', cmd_backup, 'write a backup of the whole database (SQLite copy or pg_dump custom format)')
    p.add_argument('--out', required=True, help='the backup file to write (replaced only when complete)')
    p = add('restore', cmd_restore, 'replace the database with a backup, then count and check it (stop potrack first)')
    p.add_argument('file', help='a file written by potrack backup')
    p.add_argument('--force', action='store_true', help='overwrite a database that already has data')
