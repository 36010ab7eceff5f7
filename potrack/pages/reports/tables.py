"""The report's tables: movements and balances per order, sorted and paged on the server (Quasar's request
event), so a million movements cost one page of rows; the totals cover the whole filtered set."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import background_tasks, events, ui

from potrack.errors import PotrackError
from potrack.ledger.search import (
    MovementFilter,
    MovementPage,
    MovementRow,
    MovementTotals,
    movement_totals,
    search_movements,
)
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.reports.balances import FlowBalancePage, FlowBalanceRow, flow_balances
from potrack.reports.movement_flow import MovementFlow, movement_flows
from potrack.timeutil import format_local, zone_label

ROWS_PER_PAGE = 50
ROWS_PER_PAGE_OPTIONS = [25, 50, 100, 200]


def column(name: str, label: str, field: str, *, sortable: bool = True, left: bool = True) -> dict[str, Any]:
    return {'name': name, 'label': label, 'field': field, 'sortable': sortable, 'align': 'left' if left else 'right'}


def movement_row(r: MovementRow, flow: MovementFlow | None = None) -> dict[str, Any]:
    note = f'reverses #{r.reverses_id}: {r.reason or ""}' if r.reverses_id else ''
    return {
        'id': r.id,
        'time': format_local(r.created_at, with_seconds=True),
        'order': r.order_number,
        'wc': r.work_center_code,
        'type': r.movement_type,
        'qty': r.quantity,
        'user': r.user_full_name or r.username,
        'department': r.department_name or '',
        'flow': flow.describe() if flow else '',
        'note': note,
    }


def balance_row(r: FlowBalanceRow) -> dict[str, Any]:
    return {
        'key': f'{r.work_center_id}:{r.order_number}',
        'wc': r.work_center_code,
        'order': r.order_number,
        'qty_in': f'{r.qty_in:,}',
        'qty_out': f'{r.qty_out:,}',
        'balance': f'{r.balance:,}',
        'transit': f'{r.in_transit:,}' if r.in_transit else '',
        'since': format_local(r.transit_since) if r.in_transit else '',
        'old': r.transit_old,
        'scrap': f'{r.qty_scrap:,}' if r.qty_scrap else '',
        'rework': f'{r.qty_rework:,}' if r.qty_rework else '',
        'last': format_local(r.last_movement_at, with_seconds=True),
        'user': r.last_user_name or r.last_username or '',
        'department': r.last_user_department or '',
    }


class ServerTable:
    """A ui.table whose sorting and paging Quasar asks the server for; subclasses fetch one page."""

    default_sort = ''

    def __init__(self, ctx: PageContext, columns: list[dict[str, Any]], row_key: str, marker: str) -> None:
        self.ctx = ctx
        self._latest = 0  # number of the newest load; answers to older ones are dropped
        self.pagination: dict[str, Any] = {
            'page': 1,
            'rowsPerPage': ROWS_PER_PAGE,
            'sortBy': self.default_sort,
            'descending': True,
            'rowsNumber': 0,
        }
        self.table = (
            ui.table(columns=columns, rows=[], row_key=row_key, pagination=self.pagination)
            .props('flat bordered binary-state-sort')
            .classes('w-full')
            .mark(marker)
        )
        self.table.props['rows-per-page-options'] = ROWS_PER_PAGE_OPTIONS
        self.table.on('request', self.on_request)
        self.table.on_pagination_change(self._keep_server_paging)

    def _keep_server_paging(self, _: Any) -> None:
        # Quasar announces its pagination when a table mounts (its tab shown): an echo of the props it was
        # built with, which may predate the rows' count this server sent meanwhile ("1-0 of 0" beside two
        # rows). Paging and sorting arrive as 'request'; the count and the page are the server's to give.
        if self.table.pagination != self.pagination:
            self.table.pagination = dict(self.pagination)

    async def on_request(self, e: events.GenericEventArguments) -> None:
        wanted = e.args.get('pagination', {}) if isinstance(e.args, dict) else {}
        self.pagination.update({k: wanted[k] for k in ('page', 'rowsPerPage', 'sortBy', 'descending') if k in wanted})
        await self.load()

    async def reload(self) -> None:
        self.pagination['page'] = 1
        await self.load()

    async def load(self) -> None:
        self._latest += 1
        mine = self._latest
        p = self.pagination
        size = int(p['rowsPerPage'] or ROWS_PER_PAGE)
        sort = p.get('sortBy') or self.default_sort
        try:
            rows, total, extra = await self.fetch(
                sort, bool(p.get('descending', True)), (int(p['page']) - 1) * size, size
            )
        except PotrackError as exc:
            show_refusal(exc)
            return
        if mine != self._latest:
            return  # a newer request (filters typed meanwhile) answers instead; never show an older one over it
        p['rowsNumber'] = total
        self.table.pagination = dict(p)
        self.table.rows = rows
        self.show_extra(extra)

    async def fetch(
        self, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int, Any]:
        """One page of rows, the number of rows in all pages, and anything else `show_extra` shows."""
        raise NotImplementedError

    def show_extra(self, extra: Any) -> None:
        pass


class TotalsBar:
    """Count, IN, OUT and net of every movement the filters select (not just the page shown)."""

    def __init__(self) -> None:
        # min-h: the line keeps its height while counting, so the table below does not jump when figures come.
        with ui.row().classes('w-full items-center gap-x-6 gap-y-1 text-lg min-h-[2rem]').mark('movement-totals'):
            with ui.row().classes('items-center gap-2 opacity-70').mark('totals-counting') as self.spinner:
                ui.spinner(size='1.2em')
                ui.label('Counting all matches…')
            self.spinner.set_visibility(False)
            self.count = ui.label('').mark('total-count')
            self.qty_in = ui.label('').classes('text-green-500').mark('total-in')
            self.qty_out = ui.label('').classes('text-orange-400').mark('total-out')
            self.net = ui.label('').classes('font-bold').mark('total-net')

    def counting(self) -> None:
        """New filters: the old figures go at once, the new ones come when counted."""
        self.count.set_text('')
        self.qty_in.set_text('')
        self.qty_out.set_text('')
        self.net.set_text('')
        self.spinner.set_visibility(True)

    def show(self, t: MovementTotals) -> None:
        self.spinner.set_visibility(False)
        self.count.set_text(f'{t.count:,} movement' + ('' if t.count == 1 else 's'))
        self.qty_in.set_text(f'IN {t.qty_in:,}')
        self.qty_out.set_text(f'OUT {t.qty_out:,}')
        self.net.set_text(f'Net {t.net:+,}' if t.net else 'Net 0')


class MovementsTable(ServerTable):
    """Rows first, totals when counted: a page of rows reads about a page, the totals every match.

    The totals are counted once per filter (paging and sorting reuse them) in the background; until
    they arrive the pager counts what it has seen and the totals bar says it is counting.
    """

    default_sort = 'created_at'

    def __init__(self, ctx: PageContext, current: Callable[[], MovementFilter], totals: TotalsBar) -> None:
        self.current = current
        self.totals = totals
        self._counted: tuple[MovementFilter, MovementTotals] | None = None
        self._counting: MovementFilter | None = None
        columns = [
            column('created_at', f'Time ({zone_label()})', 'time'),
            column('order_number', 'Order', 'order'),
            column('work_center', 'Work center', 'wc'),
            column('movement_type', 'Type', 'type'),
            column('quantity', 'Qty', 'qty', left=False),
            column('user', 'User', 'user'),
            column('department', 'Department', 'department', sortable=False),
            column('flow', 'Disposition', 'flow', sortable=False),
            column('note', 'Note', 'note', sortable=False),
        ]
        super().__init__(ctx, columns, 'id', 'movements-table')

    async def reload(self) -> None:
        self._counted = None  # searching again (new filters, the tab reloaded) counts again
        await super().reload()

    async def fetch(
        self, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int, Any]:
        flt = self.current()
        page: MovementPage = await self.ctx.call(
            search_movements, flt, sort=sort, descending=descending, offset=offset, limit=limit, with_totals=False
        )
        outs = [r.id for r in page.rows if r.movement_type == 'OUT']
        flows = await self.ctx.call(movement_flows, outs) if outs else {}
        rows = [movement_row(r, flows.get(r.id)) for r in page.rows]
        if self._counted is not None and self._counted[0] == flt:
            return rows, self._counted[1].count, self._counted[1]
        if self._counting != flt:
            self._counting = flt
            self.totals.counting()
            background_tasks.create(self._count(flt), name='count movements')
        # Until counted: what has been seen, and one more page if this one is full.
        return rows, offset + len(rows) + (1 if len(rows) == limit else 0), None

    async def _count(self, flt: MovementFilter) -> None:
        try:
            totals: MovementTotals = await self.ctx.call(movement_totals, flt)
        except PotrackError as exc:
            show_refusal(exc)
            return
        finally:
            if self._counting == flt:
                self._counting = None
        if flt != self.current():
            return  # the filters changed meanwhile; their own count is on its way
        self._counted = (flt, totals)
        self.pagination['rowsNumber'] = totals.count
        self.table.pagination = dict(self.pagination)
        self.totals.show(totals)

    def show_extra(self, extra: Any) -> None:
        if extra is not None:
            self.totals.show(extra)


# Pieces in transit longer than the site's setting: the balances page's amber "waiting long" badge, with an
# icon and words, never colour alone. A static template: the values arrive as props, and Vue escapes them.
OLD_TRANSIT_SLOT = r"""
<q-td :props="props">
  {{ props.value }}
  <q-badge v-if="props.row.old" color="amber-9" text-color="black" class="q-ml-sm text-weight-bold">
    <q-icon name="schedule" size="18px" class="q-mr-xs" aria-hidden="true"/>waiting long
  </q-badge>
</q-td>
"""


class OrderBalancesTable(ServerTable):
    """Balances per work center and order, with the pieces on their way there (also of orders it has not
    received yet), scrapped and reworked there; old transit stands out."""

    default_sort = 'last_movement_at'

    def __init__(self, ctx: PageContext, current: Callable[[], tuple[MovementFilter, bool]]) -> None:
        self.current = current
        columns = [
            column('work_center', 'Work center', 'wc'),
            column('order_number', 'Order', 'order'),
            column('qty_in', 'IN', 'qty_in', left=False),
            column('qty_out', 'OUT', 'qty_out', left=False),
            column('balance', 'Balance', 'balance', left=False),
            column('in_transit', 'In transit', 'transit', left=False),
            column('transit_since', f'In transit since ({zone_label()})', 'since'),
            column('qty_scrap', 'Scrapped', 'scrap', left=False),
            column('qty_rework', 'Reworked', 'rework', left=False),
            column('last_movement_at', f'Last movement ({zone_label()})', 'last'),
            column('user', 'Last by', 'user', sortable=False),
            column('department', 'Department', 'department', sortable=False),
        ]
        super().__init__(ctx, columns, 'key', 'order-balances')
        self.table.add_slot('body-cell-transit_since', OLD_TRANSIT_SLOT)
        self.caption = ui.label('').classes('text-sm opacity-70').mark('old-transit-note')

    async def fetch(
        self, sort: str, descending: bool, offset: int, limit: int
    ) -> tuple[list[dict[str, Any]], int, Any]:
        flt, open_only = self.current()
        page: FlowBalancePage = await self.ctx.call(
            flow_balances,
            work_center_ids=list(flt.work_center_ids) or None,
            order=flt.order,
            match=flt.match,
            open_only=open_only,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
        )
        return [balance_row(r) for r in page.rows], page.total, page.old_after_hours

    def show_extra(self, extra: Any) -> None:
        self.caption.set_text(
            f'In transit: pieces sent to the work center and not received there yet; '
            f'"waiting long" marks pieces in transit for more than {extra} h.'
        )
