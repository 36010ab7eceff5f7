"""What the import dialog shows of a file: its problems by line, what importing changes, its first lines.

Everything from the file (headers, cells, order numbers) is shown through labels and a table: as text.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from nicegui import ui

from potrack.orders.import_columns import LABELS
from potrack.orders.importing import ImportOutcome, describe_change

PROBLEMS_SHOWN = 200  # a list a person reads; past that, the first ones tell what to fix
CHANGES_SHOWN = 200


def show_outcome(outcome: ImportOutcome, *, saved: bool) -> None:
    """The file's description, the summary, the problems or the changes, and a preview of its first lines."""
    parsed = outcome.file
    if parsed.description:
        ui.label(f'{parsed.filename}: {parsed.description}; {parsed.lines:,} lines of orders.').mark('import-file')
    ui.label(outcome.summary).classes('text-base font-bold').mark('import-summary')
    if parsed.columns.unused:
        unused = ', '.join(f'"{h}"' for h in parsed.columns.unused)
        ui.label(f'Columns not read: {unused}.').classes('text-sm opacity-80').mark('import-unused')
    if outcome.problems:
        problem_list([str(p) for p in outcome.problems])
    elif outcome.report is not None:
        change_list(outcome, saved=saved)
    if parsed.sample:
        sample_table(outcome)


def problem_list(problems: list[str]) -> None:
    with ui.scroll_area().classes('w-full h-56 border rounded').mark('import-problems'):
        for text in problems[:PROBLEMS_SHOWN]:
            ui.label(text).classes('potrack-error').mark('import-problem')
    if len(problems) > PROBLEMS_SHOWN:
        ui.label(
            f'… and {len(problems) - PROBLEMS_SHOWN:,} more. Correct these in the file and upload it again '
            '(`potrack import-orders FILE --dry-run` lists them all).'
        ).mark('import-problems-more')


def change_list(outcome: ImportOutcome, *, saved: bool) -> None:
    """Updated orders with their changes; closed ones the file would change; lines closed in the file."""
    assert outcome.report is not None
    report = outcome.report
    lines = [('updated', describe_change(c)) for c in report.updated]
    lines += [('not-open', f'left as it is (closed or cancelled): {describe_change(c)}') for c in report.not_open]
    lines += [
        ('not-open', f'line {row.line}: {row.fields.order_number} is {row.status} in the file: not imported')
        for row in outcome.not_open_in_file
    ]
    if not lines:
        return
    ui.label('Changed' if saved else 'What importing changes').classes('text-base font-bold')
    with ui.scroll_area().classes('w-full h-56 border rounded').mark('import-changes'):
        for kind, text in lines[:CHANGES_SHOWN]:
            ui.label(text).classes('text-amber-7' if kind == 'not-open' else '').mark(f'import-{kind}')
    if len(lines) > CHANGES_SHOWN:
        ui.label(f'… and {len(lines) - CHANGES_SHOWN:,} more.')


def sample_table(outcome: ImportOutcome) -> None:
    """The first lines as they are in the file, each field under its name, and how many problems each has."""
    parsed = outcome.file
    per_line = Counter(p.line for p in outcome.problems if p.line is not None)
    fields = [name for name in LABELS if name in parsed.columns.index]
    columns: list[dict[str, Any]] = [{'name': 'line', 'label': 'Line', 'field': 'line', 'align': 'right'}]
    columns += [{'name': n, 'label': LABELS[n].capitalize(), 'field': n, 'align': 'left'} for n in fields]
    columns.append({'name': 'problems', 'label': 'Problems', 'field': 'problems', 'align': 'right'})
    rows = [{**row, 'problems': per_line.get(row['line'], '')} for row in parsed.sample]
    ui.label(f'The first {len(rows)} lines').classes('text-base font-bold')
    ui.table(columns=columns, rows=rows, row_key='line').props('dense flat bordered').classes('w-full').mark(
        'import-preview'
    )
