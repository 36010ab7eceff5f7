"""How far a demo load is: the time since it started, and a line every tenth of the rows."""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    """Says how far the load is, every tenth."""

    def __init__(self, total: int, started: float, out: Callable[[str], None]) -> None:
        self.total, self.started, self.out = total, started, out
        self.done = self.said = 0

    def add(self, rows: int) -> None:
        self.done += rows
        tenth = 10 * self.done // self.total
        if tenth > self.said:
            self.said = tenth
            self.out(f'  loaded {self.done:,} / {self.total:,} ({10 * tenth}%), {elapsed(self.started)}')


def elapsed(started: float) -> str:
    return f'{time.monotonic() - started:.1f} s'
