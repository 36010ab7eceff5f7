"""Reading an order file in CSV: UTF-8 (with or without BOM), UTF-16 or Windows-1252; comma, semicolon or tab.

The stdlib's csv module splits the lines (quoted separators and line breaks included); csv.Sniffer picks
the separator, checked against the headers potrack knows.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Generator, Iterator

from potrack.errors import InvalidInput
from potrack.orders.import_cells import Line, Sheet
from potrack.orders.import_columns import SYNONYMS, header_key

CSV_DELIMITERS = ',;\t'
_SNIFF_CHARS = 32 * 1024  # enough lines for csv.Sniffer to judge; more only makes it slower
_DELIMITER_NAMES = {',': 'comma', ';': 'semicolon', '\t': 'tab'}
NOT_A_SPREADSHEET = (
    'This file is not a spreadsheet: upload an Excel workbook (.xlsx) or a CSV file (text in UTF-8 or Windows-1252).'
)
_KNOWN_HEADERS = frozenset(key for keys in SYNONYMS.values() for key in keys)


def read_csv(data: bytes) -> Sheet:
    """A CSV file in UTF-8 (with or without BOM), UTF-16 or Windows-1252, separated by , ; or tab."""
    text, encoding = _decode(data)
    if '\x00' in text:
        raise InvalidInput(
            'This file is not a spreadsheet: upload an Excel workbook (.xlsx) or a CSV file.', field='file'
        )
    delimiter = _delimiter(text)
    records = csv.reader(io.StringIO(text, newline=''), delimiter=delimiter)
    numbered = _numbered(records)
    first = next(numbered, None)
    if first is None:
        raise InvalidInput('The file is empty.', field='file')
    headers = [cell.strip() for cell in first[1]]
    how = f'{_DELIMITER_NAMES[delimiter]}-separated, {encoding}'
    return Sheet(f'CSV file ({how})', headers, numbered)


def _numbered(records: Iterator[list[str]]) -> Generator[Line, None, None]:
    """Each record with its number as a spreadsheet shows it (a quoted line break stays inside one)."""
    line = 0
    while True:
        try:
            cells = next(records)
        except StopIteration:
            return
        except csv.Error as exc:  # a cell over the csv module's size limit, a stray quote at the end
            raise InvalidInput(f'line {line + 1} cannot be read as CSV ({exc}).', field='file') from None
        line += 1
        yield line, cells


def _decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding: a byte-order mark decides, else UTF-8, else Windows-1252."""
    if data.startswith(codecs.BOM_UTF8):
        tries = [('utf-8-sig', 'UTF-8')]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        tries = [('utf-16', 'UTF-16')]  # Excel's "Unicode text"
    else:
        tries = [('utf-8', 'UTF-8'), ('cp1252', 'Windows-1252')]
    for codec, name in tries:
        try:
            return data.decode(codec), name
        except UnicodeDecodeError:
            continue
    raise InvalidInput(NOT_A_SPREADSHEET, field='file')


def _delimiter(text: str) -> str:
    """csv.Sniffer's choice, unless another delimiter splits line 1 into more headers potrack knows.

    The Sniffer prefers a comma whenever commas are as regular as semicolons, as they are in a
    semicolon-separated file whose every line has a decimal comma; the headers tell them apart.
    """
    sample = text[:_SNIFF_CHARS]
    if len(text) > _SNIFF_CHARS and '\n' in sample:
        sample = sample[: sample.rindex('\n')]  # whole lines only
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=CSV_DELIMITERS).delimiter
    except csv.Error:  # one column, or too few lines to tell
        sniffed = ','
    first_line = sample.splitlines()[0] if sample else ''
    candidates = [sniffed, *(d for d in CSV_DELIMITERS if d != sniffed)]
    return max(candidates, key=lambda d: (_known_headers(first_line, d), d == sniffed, first_line.count(d)))


def _known_headers(line: str, delimiter: str) -> int:
    cells = next(csv.reader([line], delimiter=delimiter), [])
    return sum(header_key(cell) in _KNOWN_HEADERS for cell in cells)
