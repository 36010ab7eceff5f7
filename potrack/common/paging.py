"""Paging a list that can grow: one page of rows, the total, and the bounds every list accepts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from potrack.errors import InvalidInput

T = TypeVar('T')
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: list[T]
    total: int
    offset: int
    limit: int


def check_paging(offset: int, limit: int) -> None:
    if offset < 0 or not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInput(f'A page holds 1 to {MAX_PAGE_SIZE} rows and starts at row 0 or later.')
