"""Importing the ERP's order file: 10,000 orders from a generated workbook, on SQLite and on PostgreSQL.

Issue 14: "import 10,000 orders (generated xlsx) on SQLite and on PostgreSQL; target ≤ 10 s".
For each database, on a fresh one:
  1. first import: every order new (what the Import button does: `import_orders`, read + one transaction);
  2. re-import: the same file with a tenth of the planned quantities changed (10 % updated, the rest
     unchanged: every order is looked up and compared).
Each prints the seconds and the split: reading the file (parse) and saving (save), and the CPU seconds of
this process (what the machine's other load does not inflate; the database server's work is not in it).
The baseline, measured in the same run, is plain openpyxl reading the same workbook's values (read-only,
values only): the floor of the parse step. The SQLite file lives in a temporary folder.

    python -m bench.order_import [--orders 10000] [--url postgresql://postgres@127.0.0.1:5432/test] [--no-pg]
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

# Settings are read once: a private data folder (the SQLite file, the session secret) before potrack loads.
if __name__ == '__main__':
    os.environ['POTRACK_DATA_DIR'] = tempfile.mkdtemp(prefix='potrack-bench-import-')

if __package__ in (None, ''):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from openpyxl import Workbook, load_workbook

from bench.common import base_parser, machine_note, prepared_database, print_table, scratch_database
from potrack.db import Database, use_database
from potrack.orders.importing import ImportOutcome, import_orders
from potrack.reports.excel.workbook import actor_by_username

TARGET_S = 10.0
HEADERS = ('Order No', 'Item', 'Description', 'Qty', 'Due date', 'Route', 'Notes')


def workbook(orders: int, *, changed_every: int = 0) -> bytes:
    """An ERP-like order list; `changed_every`: every n-th order's planned quantity is one more."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet('Orders')
    sheet.append(HEADERS)
    first_due = date(2026, 12, 1)
    for i in range(orders):
        qty = 100 + i % 900 + (1 if changed_every and i % changed_every == 0 else 0)
        route = 'WC001>WC002>WC004>WC005' if i % 3 else 'WC001>WC003>WC005'
        sheet.append(
            [
                f'PO-2026-{i:06d}',
                f'ITEM-{i % 250:04d}',
                f'Gear housing size {i % 40} – Ø {10 + i % 90} mm',
                qty,
                first_due + timedelta(days=i % 120),
                route,
                'rush' if i % 17 == 0 else None,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def baseline_read_s(data: bytes) -> float:
    """Plain openpyxl reading every value of the same workbook: the floor under the parse step."""
    started = time.perf_counter()
    book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    for _ in book.worksheets[0].iter_rows(values_only=True):
        pass
    book.close()
    return time.perf_counter() - started


Row = tuple[str, float, float, float, float, str]  # label, total s, parse s, save s, this process's CPU s, result


def imported(db: Database, data: bytes, label: str) -> Row:
    use_database(db)
    admin = actor_by_username('admin', db=db)
    started, cpu = time.perf_counter(), time.process_time()
    outcome: ImportOutcome = import_orders(admin, data, 'bench.xlsx', db=db)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu
    if outcome.problems:
        raise SystemExit(f'{label}: the generated file has problems: {outcome.problems[:3]}')
    assert outcome.report is not None
    return label, total, outcome.parse_s, outcome.save_s, cpu, outcome.report.summary


def run(db: Database, name: str, first: bytes, second: bytes) -> list[Row]:
    return [imported(db, first, f'{name}: first import'), imported(db, second, f'{name}: re-import')]


def main() -> None:
    parser = base_parser('Import of a generated order workbook, on SQLite and PostgreSQL.')
    parser.add_argument('--orders', type=int, default=10_000)
    parser.add_argument('--no-pg', action='store_true', help='SQLite only')
    args = parser.parse_args()
    first, second = workbook(args.orders), workbook(args.orders, changed_every=10)
    print(f'{args.orders:,} orders, workbook {len(first) / 2**20:.1f} MB; {machine_note()}')
    baseline = min(baseline_read_s(first) for _ in range(2))

    rows: list[Row] = []
    sqlite = prepared_database(f'sqlite:///{Path(os.environ["POTRACK_DATA_DIR"]) / "bench.db"}')
    try:
        rows += run(sqlite, 'SQLite', first, second)
    finally:
        sqlite.dispose()
    if not args.no_pg:
        with scratch_database(args.url, 'import', keep=args.keep) as url:
            pg = prepared_database(url)
            try:
                rows += run(pg, 'PostgreSQL', first, second)
            finally:
                pg.dispose()

    print_table(
        ['import', 'total s', 'parse s', 'save s', 'CPU s (potrack)', 'parse / baseline', 'result'],
        [
            (label, total, parse, save, cpu, f'{parse / baseline:.2f}', result)
            for label, total, parse, save, cpu, result in rows
        ],
    )
    print(f'baseline: plain openpyxl reads the workbook in {baseline:.2f} s')
    worst = max(total for _, total, *_ in rows)
    print(f'slowest import: {worst:.2f} s (target ≤ {TARGET_S:g} s: {"met" if worst <= TARGET_S else "NOT met"})')


if __name__ == '__main__':
    main()
