"""The quantity as the operator keys it: a number or a sum of batches ("17+13+21"), its total shown live."""

from __future__ import annotations

from nicegui import ui

from potrack.common.validation import parse_quantity
from potrack.errors import InvalidInput
from potrack.i18n import Translator


def sum_total(text: str) -> int | None:
    """The total of a sum the ledger would accept, or None for a plain number or anything it would refuse."""
    if '+' not in text.strip()[1:]:  # a plain number, signed or not: only a sum has a total to show
        return None
    try:
        return parse_quantity(text)
    except InvalidInput:
        return None


def sum_preview(field: ui.input, t: Translator) -> ui.label:
    """'= 51' under `field` while it holds a sum; the same rule as the save, so what is shown is what is booked."""
    label = ui.label('').classes('text-xl font-bold').props('aria-live=polite').mark('quantity-sum')

    def show() -> None:
        total = sum_total(str(field.value or ''))
        label.set_text('' if total is None else f'= {t.number(total)}')

    field.on_value_change(show)
    return label
