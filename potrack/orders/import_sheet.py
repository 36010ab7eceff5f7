"""An uploaded order file as lines of cells: an Excel workbook's first sheet, or a CSV file.

Only what the file holds is read: nothing is evaluated, nothing guessed. A file that cannot be read says
so in one sentence (InvalidInput, field 'file') before any line is looked at; the size is checked before
anything is parsed, so a file far too big costs nothing.
"""

from __future__ import annotations

import os

from potrack.common.validation import shown
from potrack.errors import InvalidInput
from potrack.orders.import_cells import Sheet
from potrack.orders.import_csv import read_csv
from potrack.orders.import_xlsx import read_workbook

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILE_MB = MAX_FILE_BYTES // (1024 * 1024)
XLSX_EXTENSIONS = ('.xlsx', '.xlsm')
CSV_EXTENSIONS = ('.csv', '.txt', '.tsv')
_ZIP_MAGIC, _OLE_MAGIC, _PDF_MAGIC = b'PK\x03\x04', b'\xd0\xcf\x11\xe0', b'%PDF'


def check_size(size: int) -> None:
    """Refuse a file over the limit by its size alone, before it is read."""
    if size > MAX_FILE_BYTES:
        raise InvalidInput(
            f'The file is {size / (1024 * 1024):,.1f} MB; at most {MAX_FILE_MB} MB can be imported at once. '
            'Split it into smaller files.',
            field='file',
        )


def read_sheet(data: bytes, filename: str) -> Sheet:
    """The file's first sheet as lines of cells. Raises InvalidInput (field 'file') with the reason."""
    check_size(len(data))
    if not data.strip():
        raise InvalidInput('The file is empty.', field='file')
    extension = os.path.splitext(filename)[1].lower()
    if data.startswith(_OLE_MAGIC) or extension == '.xls':
        raise InvalidInput(
            'This is an old Excel 97–2003 workbook (.xls). Save it as .xlsx or CSV in Excel and upload that.',
            field='file',
        )
    if data.startswith(_ZIP_MAGIC):
        return read_workbook(data)
    if extension in XLSX_EXTENSIONS:
        raise InvalidInput(
            f'"{shown(filename)}" is not an Excel workbook, or it is damaged: open it in Excel, save it, '
            'and upload it again.',
            field='file',
        )
    if extension not in (*CSV_EXTENSIONS, '') or data.startswith(_PDF_MAGIC):
        raise InvalidInput(
            f'Upload an Excel workbook (.xlsx) or a CSV file (.csv); "{shown(filename)}" is neither.', field='file'
        )
    return read_csv(data)
