"""Reading an order file that is an Excel workbook (.xlsx): its first worksheet, values only.

openpyxl reads the values Excel saved (data_only=True), in read-only mode so a 100,000-line sheet stays
small in memory. A formula is never evaluated: its saved result is the value, and a formula saved without
one (files written by programs, not by Excel) is flagged. Merged cells keep their value in the top-left
cell and read as empty elsewhere; those cells are flagged too, so a line is never read with a hole in it.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Generator, Iterator
from typing import Any
from xml.etree import ElementTree

from openpyxl import load_workbook
from openpyxl.utils.cell import coordinate_to_tuple, range_boundaries

from potrack.common.validation import shown
from potrack.errors import InvalidInput
from potrack.orders.import_cells import CellFlags, Line, Sheet

log = logging.getLogger(__name__)

# A 20 MB upload may unpack to gigabytes (a "zip bomb"); a real 100,000-line sheet unpacks to ~60 MB.
MAX_UNPACKED_BYTES = 300 * 1024 * 1024
DAMAGED = (
    'This file could not be read as an Excel workbook: it may be damaged. '
    'Open it in Excel, save it again, and upload that.'
)
# Whether a sheet has any formula or merged cell at all: most ERP exports have neither, and a search of
# the unpacked XML is much cheaper than parsing it a second time.
_FORMULA_OR_MERGE = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?(?:f|mergeCell)[\s/>]')
_SCAN_CHUNK = 1024 * 1024


def read_workbook(data: bytes) -> Sheet:
    """The first worksheet of a workbook. Raises InvalidInput (field 'file') when it cannot be read."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError):
        raise InvalidInput(DAMAGED, field='file') from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise InvalidInput(
            f'The workbook unpacks to {unpacked / 2**20:,.0f} MB, more than an order list needs '
            f'(at most {MAX_UNPACKED_BYTES // 2**20} MB). Save it as CSV and upload that.',
            field='file',
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    # openpyxl raises a dozen different errors on a damaged or foreign zip (KeyError for a missing part,
    # XML errors, TypeError, ValueError ...): to the person uploading, each means the same thing.
    except Exception as exc:
        log.info('an uploaded workbook could not be opened: %s: %s', type(exc).__name__, exc)
        raise InvalidInput(DAMAGED, field='file') from None
    if not workbook.worksheets:
        workbook.close()
        raise InvalidInput('The workbook has no worksheet.', field='file')
    sheet = workbook.worksheets[0]
    sheet.reset_dimensions()  # some programs write a wrong size; read what is there instead
    name = f'Excel workbook, sheet "{shown(sheet.title)}"'
    if len(workbook.worksheets) > 1:
        name += f' (the first of {len(workbook.worksheets)}; the others are not read)'
    flags = _flags(archive, getattr(sheet, '_worksheet_path', ''))
    lines = _lines(sheet.iter_rows(min_row=1, values_only=True), workbook)
    first = next(lines, None)
    if first is None:
        raise InvalidInput(f'The sheet "{shown(sheet.title)}" is empty.', field='file')
    headers = ['' if value is None else str(value).strip() for value in first[1]]
    return Sheet(name, headers, lines, flags)


def _lines(rows: Iterator[tuple[Any, ...]], workbook: Any) -> Generator[Line, None, None]:
    """Each row with its number (openpyxl yields the empty rows in between too), the workbook closed at the end."""
    line = 0
    try:
        while True:
            try:
                cells = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a damaged sheet fails half-way, in any of openpyxl's ways
                log.info('an uploaded workbook broke at line %d: %s: %s', line + 1, type(exc).__name__, exc)
                raise InvalidInput(DAMAGED, field='file') from None
            line += 1
            yield line, cells
    finally:
        workbook.close()


def _flags(archive: zipfile.ZipFile, path: str) -> CellFlags:
    """The sheet's formulas saved without a result, and its merged ranges, read from the sheet's XML."""
    flags = CellFlags()
    row, column = 0, -1
    try:
        if not path or not _has_formula_or_merge(archive, path.lstrip('/')):
            return flags
        with archive.open(path.lstrip('/')) as xml:
            # The same parser openpyxl has just read this XML with; expat (2.4.1 and later) refuses entity
            # expansion bombs, and ElementTree fetches no external entity.
            for event, element in ElementTree.iterparse(xml, events=('start', 'end')):  # noqa: S314
                tag = element.tag.rpartition('}')[2]
                if event == 'start':
                    if tag == 'row':
                        row, column = int(element.get('r') or row + 1), -1
                    continue
                if tag == 'c':
                    ref = element.get('r')
                    if ref:
                        row, column = coordinate_to_tuple(ref)
                        column -= 1
                    else:  # a cell without its reference follows the one before it
                        column += 1
                    _note_formula(flags, element, row, column)
                    element.clear()
                elif tag == 'row':
                    element.clear()
                elif tag == 'mergeCell':
                    min_col, min_row, max_col, max_row = range_boundaries(element.get('ref', ''))
                    for col in range(min_col - 1, max_col):
                        flags.merged.setdefault(col, []).append((min_col, min_row, max_col, max_row))
    except Exception as exc:  # a damaged zip or sheet, in any of zipfile's, zlib's, expat's or openpyxl's ways
        log.info('an uploaded sheet could not be scanned: %s: %s', type(exc).__name__, exc)
        raise InvalidInput(DAMAGED, field='file') from None
    return flags


def _note_formula(flags: CellFlags, cell: ElementTree.Element, row: int, column: int) -> None:
    formula = value = None
    for child in cell:
        tag = child.tag.rpartition('}')[2]
        if tag == 'f':
            formula = child
        elif tag == 'v':
            value = child
    if formula is None:
        return
    # A formula whose result is the empty text is saved as t="str" with an empty value: that is a result.
    if value is None or (not value.text and cell.get('t') not in ('str', 'inlineStr')):
        flags.formulas[(row, column)] = '=' + (formula.text or '…')


def _has_formula_or_merge(archive: zipfile.ZipFile, path: str) -> bool:
    tail = b''
    with archive.open(path) as xml:
        while chunk := xml.read(_SCAN_CHUNK):
            if _FORMULA_OR_MERGE.search(tail + chunk):
                return True
            tail = chunk[-64:]
    return False
