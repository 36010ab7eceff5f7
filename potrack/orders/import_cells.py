"""An order file's content, whatever its format: line 1's headers, the other lines, and the cells not to trust."""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl.utils import get_column_letter

from potrack.common.validation import shown

Line = tuple[int, Sequence[Any]]  # (the line's number as a spreadsheet shows it, its cells)


@dataclass
class CellFlags:
    """Cells whose value cannot be trusted: a formula never calculated, or the hidden part of merged cells."""

    formulas: dict[tuple[int, int], str] = field(default_factory=dict)  # (line, column) -> the formula
    merged: dict[int, list[tuple[int, int, int, int]]] = field(default_factory=dict)  # column -> ranges

    def problem(self, line: int, column: int) -> str | None:
        """Why cell (line, column 0-based) cannot be read, or None."""
        formula = self.formulas.get((line, column))
        if formula is not None:
            return (
                f'cell {_cell(column + 1, line)} holds a formula with no saved result ({shown(formula)}); '
                'potrack never calculates formulas: open the file in Excel, save it, and upload it again.'
            )
        for min_col, min_row, max_col, max_row in self.merged.get(column, ()):
            if min_row <= line <= max_row and (line, column + 1) != (min_row, min_col):
                return (
                    f'cell {_cell(column + 1, line)} is part of the merged cells '
                    f'{_cell(min_col, min_row)}:{_cell(max_col, max_row)}, so it reads as empty; '
                    'unmerge them and give every line its own value.'
                )
        return None


def _cell(column: int, line: int) -> str:
    return f'{get_column_letter(column)}{line}'


@dataclass
class Sheet:
    """What a file holds: line 1's headers, then its other lines one by one (read as they are asked for)."""

    description: str  # 'Excel workbook, sheet "Orders"', 'CSV file (semicolon-separated, Windows-1252)'
    headers: list[str]
    lines: Generator[Line, None, None]
    flags: CellFlags = field(default_factory=CellFlags)
