"""One order at /orders/{number}: what the book says, how far it has come along its route (a diagram and a
table), its movements and (for admins) its changes; admins edit, close, cancel, reopen and print its route
card here."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from nicegui import ui

from potrack.common.routes import route_codes
from potrack.errors import NotFound, PotrackError
from potrack.ledger.search import MovementFilter, search_movements
from potrack.live import feed
from potrack.masters.audit_trail import AuditFilter, action_label, list_events
from potrack.orders.listing import OrderRow, get_order
from potrack.orders.progress import Progress, StepPieces
from potrack.pages import live_bridge
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext, open_page
from potrack.pages.layout import frame
from potrack.pages.orders.dialogs import open_edit_dialog, open_status_dialog
from potrack.pages.orders.route_diagram import RouteDiagram
from potrack.timeutil import format_local, zone_label

MOVEMENTS_SHOWN = 50
# The same words as the route diagram's cards above it, so that one number is never called two things.
STEP_COLUMNS = [
    {'name': 'wc', 'label': 'Work center', 'field': 'wc', 'align': 'left'},
    {'name': 'in_transit', 'label': 'On the way to it', 'field': 'in_transit'},
    {'name': 'qty_in', 'label': 'Received', 'field': 'qty_in'},
    {'name': 'held', 'label': 'In progress here', 'field': 'held'},
    {'name': 'scrap', 'label': 'Scrapped', 'field': 'scrap'},
    {'name': 'rework', 'label': 'Sent back for rework', 'field': 'rework'},
    {'name': 'sent_on', 'label': 'Sent on', 'field': 'sent_on'},
]


class OrderDetail:
    def __init__(self, ctx: PageContext, number: str) -> None:
        self.ctx, self.number = ctx, number
        self.title = ui.label(number).classes('text-2xl font-bold').props('role=heading aria-level=1')
        self.facts = ui.label('').classes('text-lg').mark('order-facts')
        self.progress = ui.label('').classes('text-lg potrack-num').mark('order-progress')
        self.yield_line = ui.label('').classes('text-lg potrack-num').mark('order-yield')
        self.closable = ui.label('').classes('text-lg font-medium').props('role=status').mark('order-closable')
        self.actions = ui.row().classes('gap-3')
        self.dialogs = ui.element()  # dialogs open here: the action buttons are rebuilt on every load
        # Hidden while the number is not in the book: empty tables under "not in the order book" only confuse.
        self.sections = ui.column().classes('w-full gap-4 p-0')
        with self.sections:
            self.build_tables(ctx)

    def build_tables(self, ctx: PageContext) -> None:
        ui.label('Where its pieces are').classes('text-xl font-bold pt-2').props('role=heading aria-level=2')
        self.diagram = RouteDiagram()
        self.steps = (
            ui.table(columns=STEP_COLUMNS, rows=[], row_key='wc')
            .props('flat bordered no-data-label="No pieces of this order recorded at your work centers yet"')
            .classes('w-full')
            .mark('order-steps')
        )
        ui.label(f'Latest movements ({zone_label()})').classes('text-xl font-bold pt-2').props(
            'role=heading aria-level=2'
        )
        self.movements = (
            ui.table(
                columns=[
                    {'name': 'at', 'label': 'When', 'field': 'at', 'align': 'left'},
                    {'name': 'wc', 'label': 'Work center', 'field': 'wc', 'align': 'left'},
                    {'name': 'type', 'label': 'IN/OUT', 'field': 'type', 'align': 'left'},
                    {'name': 'qty', 'label': 'Pieces', 'field': 'qty'},
                    {'name': 'who', 'label': 'Who', 'field': 'who', 'align': 'left'},
                ],
                rows=[],
                row_key='id',
            )
            .props('flat bordered dense no-data-label="No movements you can see"')
            .classes('w-full')
            .mark('order-movements')
        )
        if ctx.is_admin:
            ui.label('Changes').classes('text-xl font-bold pt-2').props('role=heading aria-level=2')
            self.changes = (
                ui.table(
                    columns=[
                        {'name': 'at', 'label': 'When', 'field': 'at', 'align': 'left'},
                        {'name': 'who', 'label': 'Who', 'field': 'who', 'align': 'left'},
                        {'name': 'what', 'label': 'What', 'field': 'what', 'align': 'left'},
                        {'name': 'changes', 'label': 'Before → after', 'field': 'changes', 'align': 'left'},
                    ],
                    rows=[],
                    row_key='id',
                )
                .props('flat bordered dense wrap-cells no-data-label="No changes recorded"')
                .classes('w-full')
                .mark('order-changes')
            )

    def show_order(self, row: OrderRow) -> None:
        product = ' · '.join(p for p in (row.product_code, row.product_description) if p) or 'no product given'
        planned = f'planned {row.planned_quantity}' if row.planned_quantity else 'planned quantity not known'
        due = f'due {row.due_date:%d %b %Y}' + (' — LATE' if row.late else '') if row.due_date else 'no due date'
        route = f'route {row.route.replace(">", " → ")}' if row.route else 'no route'
        self.facts.set_text(f'{row.status.capitalize()} · {product} · {planned} · {due} · {route}')
        self.show_progress(row)
        self.actions.clear()
        with self.actions:
            ui.button(
                'Print route card',
                icon='print',
                on_click=lambda: ui.navigate.to(
                    f'/orders/cards?{urlencode({"orders": row.order_number})}', new_tab=True
                ),
            ).props('outline no-caps size=lg').mark('order-print')
            if not self.ctx.is_admin:
                return
            ui.button('Edit', icon='edit', on_click=lambda: self.in_dialogs(open_edit_dialog, row, self.load)).props(
                'outline no-caps size=lg'
            ).mark('order-edit')
            targets = ['closed', 'cancelled'] if row.status == 'open' else ['open']
            for status in targets:
                label = {'closed': 'Close', 'cancelled': 'Cancel order', 'open': 'Reopen'}[status]
                ui.button(
                    label,
                    on_click=lambda s=status: self.in_dialogs(open_status_dialog, row.order_number, s, self.load),
                ).props('outline no-caps size=lg').mark(f'order-{status}')

    def show_progress(self, row: OrderRow) -> None:
        p = row.progress
        self.progress.set_text(progress_text(p, row.planned_quantity))
        share = p.yield_percent
        self.yield_line.set_text(
            f'Yield {share:.0f}%: {p.finished:,} finished of {p.started:,} started' if share is not None else ''
        )
        self.closable.set_text(closable_text(p, row.planned_quantity) if row.status == 'open' else '')
        self.diagram.show(p, len(route_codes(row.route)))
        self.steps.rows = [step_row(s) for s in p.steps if s.shown and s.work_center_id is not None]
        self.steps.update()

    def in_dialogs(self, opener: Any, *args: Any) -> None:
        with self.dialogs:
            opener(self.ctx, *args)

    async def load(self) -> None:
        try:
            row: OrderRow = await self.ctx.call(get_order, self.number)
            moves = await self.ctx.call(
                search_movements,
                MovementFilter(order=self.number, match='exact'),
                limit=MOVEMENTS_SHOWN,
                with_totals=False,
            )
            events = None
            if self.ctx.is_admin:
                flt = AuditFilter(entity='order', entity_id=self.number)
                events = await self.ctx.call(list_events, flt, limit=50)
        except NotFound as exc:
            self.facts.set_text(exc.message)
            self.sections.set_visibility(False)
            return
        except PotrackError as exc:
            show_refusal(exc)
            return
        self.sections.set_visibility(True)
        self.show_order(row)
        self.movements.rows = [_movement(m) for m in moves.rows]
        self.movements.update()
        if events is not None:
            self.changes.rows = [
                {
                    'id': e.id,
                    'at': format_local(e.at),
                    'who': e.actor_username or 'system',
                    'what': action_label(e.action),
                    'changes': '; '.join(e.changes) or '—',
                }
                for e in events.rows
            ]
            self.changes.update()

    def on_change(self, change: feed.Change) -> Any:
        if change.kind in ('orders', 'masters', 'corrections', 'resync') or change.order_number == self.number:
            return self.load()
        return None


def progress_text(p: Progress, planned: int | None) -> str:
    percent = p.percent(planned)
    share = f' ({percent:.0f}% of planned)' if percent is not None else ''
    extra = ''.join(
        f' · {label} {number:,}' for label, number in (('on the way', p.in_transit), ('scrapped', p.scrapped)) if number
    )
    return f'Started {p.started:,} · in progress {p.wip:,}{extra} · finished {p.finished:,}{share}'


def closable_text(p: Progress, planned: int | None) -> str:
    if not planned or not p.closable(planned):
        return ''
    text = f'All {planned:,} planned pieces are finished or scrapped: this order can be closed.'
    left = p.wip + p.in_transit
    return text + (f' {left:,} more are still at work centers or on the way.' if left else '')


def step_row(s: StepPieces) -> dict[str, Any]:
    return {
        'wc': f'{s.code} {s.name}',
        'in_transit': s.in_transit,
        'qty_in': s.qty_in,
        'held': s.held,
        'scrap': s.qty_scrap,
        'rework': s.qty_rework,
        'sent_on': s.sent_on,
    }


def _movement(m: Any) -> dict[str, Any]:
    return {
        'id': m.id,
        'at': format_local(m.created_at, with_seconds=True),
        'wc': m.work_center_code,
        'type': m.movement_type,
        'qty': m.quantity,
        'who': m.user_full_name or m.username,
    }


def register() -> None:
    @ui.page('/orders/{number}')
    async def order_page(request: Request, number: str) -> Response | None:
        ctx = await open_page(request)
        if isinstance(ctx, Response):
            return ctx
        with frame(ctx, 'Orders', title_is_heading=False):
            ui.link('← All orders', '/orders').classes('potrack-link text-base').mark('order-back')
            detail = OrderDetail(ctx, number.strip().upper()[:60])
            await detail.load()
            live_bridge.subscribe(detail.on_change)
        return None
