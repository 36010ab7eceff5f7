"""Order files as the ERP (or a person with Excel) writes them, made in the test: workbooks and CSV."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlmodel import select

from potrack.db import Database
from potrack.db.models import OrderHeader

HEADERS = ('order_number', 'product', 'planned_quantity', 'due_date', 'route')


def xlsx(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str] = HEADERS,
    *,
    edit: Callable[[Worksheet], None] | None = None,
) -> bytes:
    """A workbook whose first sheet has `headers` on line 1 and `rows` below; `edit` may change the sheet."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = 'Orders'
    sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    if edit is not None:
        edit(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str] = HEADERS,
    *,
    delimiter: str = ',',
    encoding: str = 'utf-8',
) -> bytes:
    out = io.StringIO(newline='')
    writer = csv.writer(out, delimiter=delimiter, lineterminator='\r\n')
    writer.writerow(headers)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def with_saved_results(data: bytes, results: dict[str, str]) -> bytes:
    """The workbook as Excel saves it: each formula (by its text, e.g. 'C2*2') with its calculated result.

    openpyxl writes formulas without a result, as every program but Excel does.
    """
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.startswith('xl/worksheets/'):
                for formula, value in results.items():
                    content = content.replace(
                        f'<f>{formula}</f><v />'.encode(), f'<f>{formula}</f><v>{value}</v>'.encode()
                    )
            target.writestr(info, content)
    return out.getvalue()


def order_book(db: Database) -> list[dict[str, Any]]:
    """Every row of order_header, every column: what 'nothing was written' is checked against."""
    with db.read() as session:
        rows = session.exec(select(OrderHeader).order_by(OrderHeader.order_number)).all()
        return [row.model_dump() for row in rows]


def stored(db: Database, number: str) -> OrderHeader:
    with db.read() as session:
        return session.exec(select(OrderHeader).where(OrderHeader.order_number == number)).one()
