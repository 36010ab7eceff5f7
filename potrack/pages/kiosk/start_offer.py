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
        self.start = start
        self.button: ui.button | None = None
        # In a narrow column (a tablet upright) Cancel wraps under the offer rather than squeeze it to a word a line.
        # Its buttons are built at the first offer (the 'confirm' policy only): until then they would cost every
        # kiosk memory on the server for nothing (bench/kiosk_load.py, ≤ 1 MB a kiosk).
        self.row = ui.row().classes('w-full gap-3').mark('start-offer')
        self.row.set_visibility(False)

    def _build(self) -> ui.button:
        with self.row:
            button = (
                ui.button(icon='add_circle', on_click=lambda: self.start(self.kind))
                .props('color=teal-8 unelevated no-caps')  # white on primary is 3.1:1
                .classes('flex-1 min-w-60 potrack-big-button')
                .mark('start-order')
            )
            ui.button(self.t.gettext('Cancel'), on_click=self.hide).props('outline no-caps').classes(
                'potrack-big-button'
            )
        return button

    def offer(self, order_number: str, kind: str) -> None:
        self.kind = kind
        template = (
            self.t.gettext('Start {order} and record IN')
            if kind == 'IN'
            else self.t.gettext('Start {order} and record OUT')
        )
        if self.button is None:
            self.button = self._build()
        self.button.set_text(template.format(order=order_number))
        self.row.set_visibility(True)

    def hide(self) -> None:
        self.row.set_visibility(False)
