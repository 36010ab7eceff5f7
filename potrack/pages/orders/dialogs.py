"""Admins' dialogs for the order book: add or edit an order; close, cancel or reopen it with a reason.

Each dialog only gathers what was typed and calls the service (orders.book), which checks the fields,
the admin and writes the audit trail; a refusal appears under the field it names.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from potrack.orders import book
from potrack.orders.fields import parse_order_fields
from potrack.orders.listing import OrderRow
from potrack.pages.admin.widgets import FormDialog, text_field
from potrack.pages.guard import PageContext

Done = Callable[[], Awaitable[None]]
SAVE_COLOR = 'teal-8'  # white on teal-8 is 4.3:1, under the 4.5 that text needs
STATUS_WORDS = {
    'closed': ('Close order', 'Close', 'red-8'),
    'cancelled': ('Cancel order', 'Cancel order', 'red-8'),
    'open': ('Reopen order', 'Reopen', SAVE_COLOR),
}


def _order_fields(dlg: FormDialog, row: OrderRow | None) -> None:
    with dlg.body:
        number = text_field('Order number', 'order-number', row.order_number if row else '')
        if row is not None:
            number.props('readonly')
        dlg.fields['order_number'] = number
        dlg.fields['product_code'] = text_field('Product code', 'order-product', row.product_code if row else '')
        dlg.fields['product_description'] = text_field(
            'Product description', 'order-description', row.product_description if row else ''
        )
        planned = '' if row is None or row.planned_quantity is None else str(row.planned_quantity)
        dlg.fields['planned_quantity'] = text_field(
            'Planned quantity', 'order-planned', planned, hint='Pieces; leave empty if not known'
        ).props('inputmode=numeric')
        due = row.due_date.isoformat() if row and row.due_date else ''
        dlg.fields['due_date'] = (
            ui.input('Due date', value=due).props('outlined type=date stack-label').classes('w-full').mark('order-due')
        )
        dlg.fields['route'] = text_field(
            'Route', 'order-route', row.route if row else '', hint='Work center codes in order, like WC001>WC002>WC005'
        )
        dlg.fields['notes'] = text_field('Notes', 'order-notes', row.notes if row else '')


def _typed(dlg: FormDialog) -> dict[str, Any]:
    return {name: dlg.value(name) or '' for name in dlg.fields}


def open_add_dialog(ctx: PageContext, on_done: Done) -> None:
    dlg = FormDialog('Add an order', 'order-dialog', save_label='Add', save_color=SAVE_COLOR)
    _order_fields(dlg, None)

    async def save() -> None:
        fields = parse_order_fields(**_typed(dlg))
        await ctx.call(book.add_order, fields)
        ui.notify(f'{fields.order_number} is in the order book.', type='positive')
        await on_done()

    dlg.on_save = save


def open_edit_dialog(ctx: PageContext, row: OrderRow, on_done: Done) -> None:
    dlg = FormDialog(f'Edit {row.order_number}', 'order-dialog', save_color=SAVE_COLOR)
    _order_fields(dlg, row)

    async def save() -> None:
        typed = _typed(dlg)
        # An emptied planned quantity or due date keeps what is stored: the book never forgets a plan by accident.
        fields = parse_order_fields(**typed)
        await ctx.call(book.edit_order, fields)
        ui.notify(f'{row.order_number} saved.', type='positive')
        await on_done()

    dlg.on_save = save


def open_status_dialog(ctx: PageContext, order_number: str, status: str, on_done: Done) -> None:
    title, action, color = STATUS_WORDS[status]
    dlg = FormDialog(f'{title} {order_number}', 'order-status', save_label=action, save_color=color)
    with dlg.body:
        if status != 'open':
            ui.label('A closed or cancelled order takes no new movements until it is reopened.').classes('text-base')
        dlg.fields['reason'] = text_field('Reason', 'order-status-reason', hint='Kept in the audit trail')

    async def save() -> None:
        await ctx.call(book.set_status, order_number, status, dlg.value('reason'))
        ui.notify(f'{order_number} is {status} now.', type='positive')
        await on_done()

    dlg.on_save = save
