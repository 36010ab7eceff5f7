"""An order file read into orders: every line checked, every problem listed by its line, nothing saved.

Pure: the file's bytes, its name and a column mapping in; the orders and the problems out. A line's number
is the row number a spreadsheet shows (the headers are line 1). importing.py saves what this reads; the
page and the CLI show the problems.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl.cell.cell import ERROR_CODES

from potrack.common.validation import normalize_order_number, shown
from potrack.errors import InvalidFields, InvalidInput
from potrack.orders.fields import OrderFields, parse_order_fields, parse_status
from potrack.orders.import_cells import CellFlags, Line
from potrack.orders.import_columns import LABELS, Columns, resolve_columns
from potrack.orders.import_sheet import read_sheet

MAX_LINES = 100_000  # lines of orders in one file, the headers not counted
MAX_CELL_CHARS = 1_000
SAMPLE_LINES = 20  # lines a preview shows as they are in the file
SAMPLE_CELL_CHARS = 60
PROGRESS_EVERY_LINES = 1_000

# Told what is being done: ('reading' | 'saving', done so far, total or 0 while unknown).
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Problem:
    """Why the file cannot be imported as it is: on `line` (None: the file as a whole)."""

    line: int | None
    message: str

    def __str__(self) -> str:
        return f'line {self.line}: {self.message}' if self.line is not None else self.message


@dataclass(frozen=True)
class ImportRow:
    """One order as a line of the file gives it, checked. `status`: the file's status column, if any."""

    line: int
    fields: OrderFields
    status: str | None = None


@dataclass
class ParsedFile:
    """What reading a file found; it may be imported only when `problems` is empty."""

    filename: str
    description: str = ''  # what kind of file it turned out to be
    headers: list[str] = field(default_factory=list)
    columns: Columns = field(default_factory=Columns)
    rows: list[ImportRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0  # lines with something to read, the headers not counted
    sample: list[dict[str, Any]] = field(default_factory=list)  # the first lines: 'line' and each field's text
    lines_of: dict[str, list[int]] = field(default_factory=dict, repr=False)  # order number -> its lines

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_order_file(
    data: bytes,
    filename: str,
    mapping: Mapping[str, str | None] | None = None,
    remembered: Mapping[str, str] | None = None,
    progress: Progress | None = None,
) -> ParsedFile:
    """Read every line of an order file and check it; see import_columns.resolve_columns for `mapping`."""
    parsed = ParsedFile(filename)
    try:
        sheet = read_sheet(data, filename)
    except InvalidInput as exc:
        parsed.problems.append(Problem(None, exc.message))
        return parsed
    parsed.description, parsed.headers = sheet.description, sheet.headers
    parsed.columns = resolve_columns(sheet.headers, mapping, remembered)
    parsed.problems.extend(Problem(1, message) for message in parsed.columns.problems)
    try:
        if 'order_number' in parsed.columns.index:
            _read_lines(parsed, sheet.lines, sheet.flags, progress)
    except InvalidInput as exc:  # damaged half-way, or too long: the lines read so far do not count
        parsed.rows.clear()
        parsed.problems = [Problem(None, exc.message)]
        return parsed
    finally:
        sheet.lines.close()
    _note_duplicates(parsed)
    if not parsed.lines and parsed.ok:
        parsed.problems.append(Problem(None, 'The file has headers on line 1 but no orders below them.'))
    parsed.problems.sort(key=lambda p: p.line or 0)
    return parsed


def _read_lines(parsed: ParsedFile, lines: Iterable[Line], flags: CellFlags, progress: Progress | None) -> None:
    for line, cells in lines:
        raw, bad = _cells(parsed.columns, flags, (line, cells))
        if raw is None:
            continue  # an empty line: spreadsheets often end with some
        parsed.lines += 1
        if parsed.lines > MAX_LINES:
            raise InvalidInput(
                f'The file has more than {MAX_LINES:,} lines of orders; split it into files of at most {MAX_LINES:,}.',
                field='file',
            )
        if len(parsed.sample) < SAMPLE_LINES:
            parsed.sample.append({'line': line, **{name: _shown(value) for name, value in raw.items()}})
        row, problems = _order(raw, bad)
        number = _number(raw, bad)
        if number is not None:
            parsed.lines_of.setdefault(number, []).append(line)
        parsed.problems.extend(Problem(line, message) for message in problems)
        if row is not None:
            parsed.rows.append(ImportRow(line, *row))
        if progress is not None and parsed.lines % PROGRESS_EVERY_LINES == 0:
            progress('reading', parsed.lines, 0)


def _cells(columns: Columns, flags: CellFlags, line: Line) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """The line's value of each field read, and the fields whose cell cannot be used, with why.

    (None, {}) for an empty line.
    """
    number, cells = line
    raw: dict[str, Any] = {}
    bad: dict[str, str] = {}
    for name, index in columns.index.items():
        value = cells[index] if index < len(cells) else None
        if isinstance(value, str):
            value = value.strip()
        raw[name] = None if value == '' else value
        if raw[name] is None:
            why = flags.problem(number, index)  # merged cells and uncalculated formulas read as empty
            if why is not None:
                bad[name] = why
        elif isinstance(value, str) and len(value) > MAX_CELL_CHARS:
            bad[name] = f'the {LABELS[name]} has {len(value):,} characters; a cell may hold at most {MAX_CELL_CHARS:,}.'
        elif isinstance(value, str) and value in ERROR_CODES:
            bad[name] = f'the {LABELS[name]} cell shows the error {value}; correct it in the file.'
    if not bad and all(value is None for value in raw.values()):
        return None, {}
    return raw, bad


def _order(raw: dict[str, Any], bad: dict[str, str]) -> tuple[tuple[OrderFields, str | None] | None, list[str]]:
    """The line's order and status (None when anything is wrong), and every problem of the line."""
    problems = list(bad.values())
    given = {name: value for name, value in raw.items() if name not in bad}
    if 'order_number' not in bad and given.get('order_number') is None:
        problems.insert(0, 'the order number is empty.')
    fields: OrderFields | None = None
    try:
        fields = parse_order_fields(
            # Without a number (its problem is noted above) the other fields are still checked, under a stand-in.
            order_number=_text(given.get('order_number')) or '0',
            product_code=given.get('product_code'),
            product_description=_text(given.get('product_description')),
            planned_quantity=given.get('planned_quantity'),
            due_date=given.get('due_date'),
            route=given.get('route'),
            notes=given.get('notes'),
        )
    except InvalidFields as exc:
        problems.extend(_sentence(each.message) for each in exc.errors)
    except InvalidInput as exc:
        problems.append(_sentence(exc.message))
    status: str | None = None
    if given.get('status') is not None:
        try:
            status = parse_status(_text(given['status']))
        except InvalidInput as exc:
            problems.append(_sentence(exc.message))
    return ((fields, status) if fields is not None and not problems else None), problems


def _note_duplicates(parsed: ParsedFile) -> None:
    """Each line repeating an order number an earlier line has: the file must say once what it wants."""
    for number, lines in parsed.lines_of.items():
        if len(lines) < 2:
            continue
        times = 'twice' if len(lines) == 2 else f'{len(lines)} times'
        for line in lines[1:]:
            others = [other for other in lines if other != line]
            also = f'line {others[0]}' if len(others) == 1 else 'lines ' + ', '.join(map(str, others))
            parsed.problems.append(Problem(line, f'{shown(number)} appears {times} in the file (also {also}).'))


def _number(raw: dict[str, Any], bad: dict[str, str]) -> str | None:
    """The line's order number as the book writes it, or None when it has none that can be read."""
    if 'order_number' in bad:
        return None
    try:
        return normalize_order_number(_text(raw.get('order_number')))
    except InvalidInput:
        return None


def _text(value: Any) -> Any:
    """A number where text belongs (a spreadsheet made order 100234 a number) as the text it shows."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else str(value)
    return value


def _shown(value: Any) -> str:
    """A cell as a preview shows it: short, dates as ISO."""
    if value is None:
        return ''
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=' ')
    if isinstance(value, date):
        return value.isoformat()
    return shown(str(_text(value)), SAMPLE_CELL_CHARS)


def _sentence(message: str) -> str:
    """A field's refusal continuing 'line 7: ': 'Order number "X" may ...' -> 'order number "X" may ...'."""
    if len(message) > 1 and message[0].isupper() and (message[1].islower() or message[1] == ' '):
        return message[0].lower() + message[1:]
    return message
