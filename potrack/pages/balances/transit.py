"""Pieces in transit to each work center, on the balances page: a column of the totals and one summary line.

Transit that has waited longer than the site's setting is marked with an icon and the words "waiting
long", on an amber badge: never by colour alone.
"""

from __future__ import annotations

from datetime import datetime

from potrack.ledger.transit import TransitTotal
from potrack.timeutil import format_local, zone_label

OLD_RECHECK_S = 300.0  # transit turns old with time, not with a change: re-read this often while some is young

# A static template (no data in it): the values arrive as props, and Vue escapes them. The badge goes under
# the number and wraps: on one line beside it, it ran past the table's edge on a portrait screen.
TRANSIT_SLOT = r"""
<q-td :props="props">
  <span class="potrack-num">{{ props.row.transit }}</span>
  <span v-if="props.row.transit_orders" class="q-ml-xs">({{ props.row.transit_orders }})</span>
  <div v-if="props.row.transit_old" class="q-mt-xs">
    <q-badge color="amber-9" text-color="black" class="text-weight-bold q-py-xs"
             style="white-space: normal; max-width: 15rem; line-height: 1.3">
      <q-icon name="schedule" size="18px" class="q-mr-xs" aria-hidden="true"/>{{ props.row.transit_old }}
    </q-badge>
  </div>
</q-td>
"""


def orders_text(count: int) -> str:
    return f'{count} order{"" if count == 1 else "s"}'


def old_text(total: TransitTotal | None) -> str:
    """'1 order waiting long, since 12 Mar 2026 09:15 IST', or '' when nothing has waited long."""
    if total is None or not total.old_orders:
        return ''
    return f'{orders_text(total.old_orders)} waiting long, since {since(total.oldest_since)}'


def since(moment: datetime | None) -> str:
    return f'{format_local(moment)} {zone_label(moment)}' if moment else ''


def transit_cells(total: TransitTotal | None) -> dict[str, object]:
    """The totals row's transit cells for one work center (nothing in transit: 0 and no badge)."""
    return {
        'transit': total.quantity if total else 0,
        'transit_orders': orders_text(total.orders) if total and total.orders else '',
        'transit_old': old_text(total),
    }


def summary_text(totals: dict[int, TransitTotal]) -> str:
    pieces = sum(t.quantity for t in totals.values())
    orders = sum(t.orders for t in totals.values())
    if not pieces:
        return 'Nothing is in transit between your work centers.'
    return f'In transit to your work centers: {pieces} pieces ({orders_text(orders)}).'


def old_summary(totals: dict[int, TransitTotal]) -> str:
    old = sum(t.old_orders for t in totals.values())
    if not old:
        return ''
    oldest = min((t.oldest_since for t in totals.values() if t.old_orders and t.oldest_since), default=None)
    return f'{orders_text(old)} waiting long to be received, the oldest since {since(oldest)}.'


def all_old(totals: dict[int, TransitTotal]) -> bool:
    """True when no transit can still turn old: then no re-read is needed until the next change."""
    return all(t.old_orders >= t.orders for t in totals.values())
