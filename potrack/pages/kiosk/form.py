"""The entry form: order, quantity, keypad, IN / OUT and the result line, laid out to fit one screen.

Landscape puts IN / OUT beside the keypad, portrait under it (assets/kiosk.css); the result line keeps its
height whether it shows a message or not, so that no message moves a key from under a finger.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

from nicegui import ui

from potrack.i18n import N_, Translator
from potrack.pages.kiosk.disposition import OUT_LABELS
from potrack.pages.kiosk.entry_keys import mark_default, wire_enter_keys
from potrack.pages.kiosk.feedback import StatusLine
from potrack.pages.kiosk.keypad import keypad, quick_steps
from potrack.pages.kiosk.quantity import sum_preview

FIELD_PROPS = 'outlined autocomplete=off input-class=text-2xl'
ACTION_LABELS = {'IN': N_('IN'), 'OUT': N_('OUT')}  # the buttons' words; the kind they send stays IN / OUT


class EntryForm:
    """The fields and buttons of one entry; the kiosk decides what a press does."""

    def __init__(
        self,
        on_order: Callable[[str], Awaitable[None]],
        on_quantity: Callable[[str, str, int], Awaitable[None]],
        on_save: Callable[[str], Awaitable[None]],
        default_action: str,
        t: Translator,
    ) -> None:
        self.t = t
        with ui.column().classes('w-full gap-2'):
            self.order = (
                ui.input(t.gettext('Order number'), placeholder=t.gettext('Scan or type, then Enter'))
                .props(f'{FIELD_PROPS} autofocus clearable enterkeyhint=next')
                .classes('w-full')
                .mark('order')
            )
            with ui.row().classes('w-full items-center gap-3 no-wrap'):
                self.qty = (
                    ui.input(t.gettext('Quantity (pieces)'))
                    .props(f'{FIELD_PROPS} inputmode=numeric enterkeyhint=done')
                    .classes('flex-1')
                    .mark('quantity')
                )
                sum_preview(self.qty, t).classes('potrack-kiosk-sum')
            wire_enter_keys(self.order, self.qty, on_order, on_quantity)
            quick_steps(self.qty)
            with ui.element('div').classes('potrack-kiosk-pad'):
                keypad(self.qty, t)
                with ui.element('div').classes('potrack-kiosk-actions'):
                    self.in_button = self._action('IN', 'login', 'color=green-7', on_save)
                    # black on amber: 9:1 (white was 2:1)
                    self.out_button = self._action('OUT', 'logout', 'color=amber-8 text-color=black', on_save)
            self.status = StatusLine()
        self.fields = {'order_number': self.order, 'quantity': self.qty}
        self.order.on_value_change(lambda e: self.status.stale() if e.value else None)
        mark_default(self.button(default_action))

    def _action(self, kind: str, icon: str, colors: str, on_save: Callable[[str], Awaitable[None]]) -> ui.button:
        return (
            ui.button(self.t.gettext(ACTION_LABELS[kind]), icon=icon, on_click=lambda: on_save(kind))
            .props(f'{colors} unelevated')
            .classes('potrack-big-button')
            .mark(kind.lower())
        )

    def button(self, kind: str) -> ui.button:
        return self.in_button if kind == 'IN' else self.out_button

    def show_disposition(self, disposition: str) -> None:
        self.out_button.set_text(self.t.gettext(OUT_LABELS[disposition]))

    def set_ready(self, ready: bool) -> None:
        self.in_button.set_enabled(ready)
        self.out_button.set_enabled(ready)

    def clear(self) -> None:
        self.qty.value = ''
        self.order.value = ''

    def empty(self) -> bool:
        return not str(self.order.value or '').strip() and not str(self.qty.value or '').strip()


class RequestIds:
    """The request id of the entry on the form: the same entry pressed again (a double tap, a retry after "not
    saved") keeps its id, so that the ledger records it once; any change to the entry makes it a new request."""

    def __init__(self) -> None:
        self.entry: tuple[object, ...] | None = None
        self.id = uuid.uuid4().hex

    def id_for(self, entry: tuple[object, ...]) -> str:
        if entry != self.entry:
            self.entry, self.id = entry, uuid.uuid4().hex
        return self.id

    def forget(self) -> None:
        """The entry was saved: the same content typed again is a new entry (a second box of 25)."""
        self.entry = None
