"""Under the 'confirm' policy, an order that is not in the book is started with one more tap."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui

from potrack.i18n import Translator


class StartOffer:
    """A big "Start PO-… and record IN" button (and Cancel), shown after the ledger asked for confirmation."""

    def __init__(self, start: Callable[[str], Awaitable[None]], t: Translator) -> None:
        self.kind = 'IN'
        self.t = t
        # In a narrow column (a tablet upright) Cancel wraps under the offer rather than squeeze it to a word a line.
        with ui.row().classes('w-full gap-3').mark('start-offer') as self.row:
            self.button = (
                ui.button(icon='add_circle', on_click=lambda: start(self.kind))
                .props('color=teal-8 unelevated no-caps')  # white on primary is 3.1:1
                .classes('flex-1 min-w-60 potrack-big-button')
                .mark('start-order')
            )
            ui.button(t.gettext('Cancel'), on_click=self.hide).props('outline no-caps').classes('potrack-big-button')
        self.row.set_visibility(False)

    def offer(self, order_number: str, kind: str) -> None:
        self.kind = kind
        template = (
            self.t.gettext('Start {order} and record IN')
            if kind == 'IN'
            else self.t.gettext('Start {order} and record OUT')
        )
        self.button.set_text(template.format(order=order_number))
        self.row.set_visibility(True)

    def hide(self) -> None:
        self.row.set_visibility(False)
