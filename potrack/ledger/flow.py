"""The flow between work centers: what a movement does to the pieces in transit, decided in Python from
the rows the write has locked (steps.entry_and_lock), so the rules stay readable and testable alone.

- An OUT is *sent* on (into transit to the route's next step; from the last step: finished), *scrap*
  (with a reason; out of the flow for good) or *rework* (with a reason; into transit back to an earlier
  step of the route).
- An IN takes what it can from the transit to its work center; the rest must fit the allowance: at the
  route's first step the planned quantity (+ tolerance) less what that step received fresh already, at a
  later step the over-receipt tolerance of what was sent to it, off the route the site's choice.
- An order without a route has no transit and no bounds: it moves as before the flow was tracked.

Reversals (`reversed_effect`) undo exactly what the original did.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from potrack.common.routes import route_codes, shown_route
from potrack.db.models import IN, REWORK, SCRAP, SENT
from potrack.errors import BeyondTransit, InvalidInput
from potrack.i18n import N_
from potrack.ledger.flow_refusals import BACK, BEYOND_TRANSIT, NEXT, NOT_USABLE

OVER_RECEIPT, OFF_ROUTE = 'over_receipt', 'off_route'  # why a receipt is flagged in the audit


@dataclass(frozen=True)
class FlowFacts:
    """What the write's first statement read about the order's flow at this work center, rows locked."""

    code: str  # this work center's code
    route: str  # the order's route ('' : none)
    planned: int | None  # the order's planned quantity
    qty_in: int  # this work center's balance row: everything received here so far
    transit_sent: int = 0  # the transit to this work center (read for an IN)
    transit_received: int = 0
    transit_from: str | None = None  # the code of its latest sender
    centers: dict[str, tuple[int, bool]] | None = None  # the route's work centers: code -> (id, active)
    tolerance_pct: int = 0
    off_route: str = 'refuse'
    reason_kind: str | None = None  # the chosen reason's kind, when it is active
    target_code: str | None = None  # the rework target's code

    @property
    def steps(self) -> list[str]:
        return route_codes(self.route)


@dataclass(frozen=True)
class Effect:
    """A movement's flow columns and what they change besides its balance row."""

    disposition: str | None = None
    to_work_center_id: int | None = None
    to_code: str | None = None  # its code, when the flow knows it
    reason_id: int | None = None
    transit_qty: int = 0  # signed like the movement's quantity
    d_scrap: int = 0
    d_rework: int = 0
    flag: str | None = None  # OVER_RECEIPT / OFF_ROUTE: an IN the audit remembers

    def transit_change(self, movement_type: str, work_center_id: int) -> tuple[int | None, int, int]:
        """(transit row's work center, added to qty_sent, added to qty_received); (None, 0, 0): none."""
        if movement_type == IN:
            return (work_center_id, 0, self.transit_qty) if self.transit_qty else (None, 0, 0)
        if self.to_work_center_id is not None and self.transit_qty:
            return self.to_work_center_id, self.transit_qty, 0
        return None, 0, 0


NO_EFFECT = Effect()


def receipt(order: str, qty: int, facts: FlowFacts) -> Effect:
    """An IN of `qty`: what it takes from transit, and whether the rest may come in. Raises BeyondTransit."""
    steps = facts.steps
    transit = facts.transit_sent - facts.transit_received
    take = min(qty, max(transit, 0))
    extra = qty - take
    if not steps:
        return Effect(transit_qty=take)
    own_extra = facts.qty_in - facts.transit_received  # received here before, beyond what came in transit
    if facts.code not in steps:
        if extra and facts.off_route != 'allow':
            raise BeyondTransit(
                N_('{code} is not on the route of {order} ({route}); nothing was recorded.'),
                available=take,
                requested=qty,
                params={'code': facts.code, 'order': order, 'route': shown_route(facts.route)},
            )
        return Effect(transit_qty=take, flag=OFF_ROUTE if extra else None)
    if steps[0] == facts.code:
        if facts.planned is None or not extra:
            return Effect(transit_qty=take)
        allowed = facts.planned + facts.planned * facts.tolerance_pct // 100
        room = max(allowed - own_extra, 0)
        if extra > room:
            template = (
                N_(
                    '{order} is planned for {planned} pieces and {code} has received {received} of them: at most '
                    '{room} more new pieces can come in, plus the {take} sent back for rework; you tried to receive '
                    '{qty}.'
                )
                if take
                else N_(
                    '{order} is planned for {planned} pieces and {code} has received {received} of them: at most '
                    '{room} more can come in; you tried to receive {qty}.'
                )
            )
            raise BeyondTransit(
                template,
                available=room + take,
                requested=qty,
                params={
                    'order': order,
                    'planned': facts.planned,
                    'code': facts.code,
                    'received': own_extra,
                    'room': room,
                    'take': take,
                    'qty': qty,
                },
            )
        return Effect(transit_qty=take, flag=OVER_RECEIPT if own_extra + extra > facts.planned else None)
    if not extra:
        return Effect(transit_qty=take)
    allowance = max(facts.transit_sent * facts.tolerance_pct // 100 - max(own_extra, 0), 0)
    if extra > allowance:
        template, params = _beyond_transit(order, qty, facts, steps[steps.index(facts.code) - 1], take + allowance)
        raise BeyondTransit(template, available=take + allowance, requested=qty, params=params)
    return Effect(transit_qty=take, flag=OVER_RECEIPT)


def _beyond_transit(
    order: str, qty: int, facts: FlowFacts, before: str, possible: int
) -> tuple[str, dict[str, object] | None]:
    """The refusal's template and values for an IN at a later step beyond what was sent there (None: plain text)."""
    sent, received = facts.transit_sent, facts.transit_received
    if sent == 0:
        case = 'none'
    elif received == 0:
        case = 'none_received'
    else:
        case = 'all_received' if received >= sent else 'some_received'
    with_tolerance = possible > max(sent - received, 0)
    params: dict[str, object] = {
        'order': order,
        'code': facts.code,
        'before': before,
        'sender': facts.transit_from,
        'sent': sent,
        'received': received,
        'left': sent - received,
        'qty': qty,
        'tolerance': facts.tolerance_pct,
        'possible': possible,
    }
    template = BEYOND_TRANSIT[case][with_tolerance]
    if facts.transit_from is None and '{sender}' in template:
        # No sender recorded (rows from before transit kept one): said in English only, without a "from".
        return template.replace(' (from {sender})', '').format(**params), None
    return template, params


def dispatch(
    order: str, qty: int, disposition: str, reason_id: int | None, rework_to: int | None, facts: FlowFacts
) -> Effect:
    """An OUT of `qty` with its disposition: where its pieces go. Raises InvalidInput."""
    steps = facts.steps
    on_route = facts.code in steps
    if disposition == SENT:
        if not on_route or steps[-1] == facts.code:  # no route, off it, or finished at the last step
            return Effect(disposition=SENT)
        after = steps[steps.index(facts.code) + 1]
        return Effect(
            disposition=SENT,
            to_work_center_id=_usable(order, after, facts, NEXT),
            to_code=after,
            transit_qty=qty,
        )
    if reason_id is None:
        raise InvalidInput(
            N_('Choose why these pieces are scrapped.')
            if disposition == SCRAP
            else N_('Choose why these pieces go back.'),
            field='reason',
            params={},
        )
    if facts.reason_kind is None:
        raise InvalidInput(N_('That reason is no longer in the list; choose another.'), field='reason', params={})
    if facts.reason_kind not in (disposition, 'both'):
        raise InvalidInput(
            N_('That reason is not one for scrap; choose another.')
            if disposition == SCRAP
            else N_('That reason is not one for rework; choose another.'),
            field='reason',
            params={},
        )
    if disposition == SCRAP:
        return Effect(disposition=SCRAP, reason_id=reason_id, d_scrap=qty)
    if not on_route:
        raise InvalidInput(
            N_('{code} is not on the route of {order}, so there is no earlier step to send pieces back to.'),
            field='rework_to',
            params={'code': facts.code, 'order': order},
        )
    earlier = steps[: steps.index(facts.code)]
    if rework_to is None or facts.target_code not in earlier:
        if not earlier:
            raise InvalidInput(
                N_('Choose the earlier step of the route to send the pieces back to (none: this is the first step).'),
                field='rework_to',
                params={},
            )
        raise InvalidInput(
            N_('Choose the earlier step of the route to send the pieces back to ({choices}).'),
            field='rework_to',
            params={'choices': ', '.join(earlier)},
        )
    target = _usable(order, facts.target_code, facts, BACK)
    return Effect(
        disposition=REWORK,
        to_work_center_id=target,
        to_code=facts.target_code,
        reason_id=reason_id,
        transit_qty=qty,
        d_rework=qty,
    )


def _usable(order: str, code: str, facts: FlowFacts, step: str) -> int:
    """The id of the route's work center `code`; InvalidInput when none has that code or it is deactivated
    (pieces sent there could never be received)."""
    found = (facts.centers or {}).get(code)
    if found is None or not found[1]:
        raise InvalidInput(
            NOT_USABLE[step, 'missing' if found is None else 'inactive'],
            field='disposition',
            params={'order': order, 'code': code},
        )
    return found[0]


def centers_of(described: str | None) -> dict[str, tuple[int, bool]]:
    """The first statement's 'id:code:active,…' as code -> (id, active)."""
    found: dict[str, tuple[int, bool]] = {}
    for item in (described or '').split(','):
        if item:
            wc_id, code, active = item.split(':')
            found[code] = (int(wc_id), active == '1')
    return found


def reversed_effect(original: Any) -> Effect:
    """The opposite of a movement's flow (a row of production_order): the reversal's flow columns."""
    qty = original.quantity
    return Effect(
        disposition=original.disposition,
        to_work_center_id=original.to_work_center_id,
        reason_id=original.reason_id,
        transit_qty=-original.transit_qty,
        d_scrap=-qty if original.disposition == SCRAP else 0,
        d_rework=-qty if original.disposition == REWORK else 0,
    )


def parse_disposition(raw: Any, movement_type: str) -> str | None:
    """None for an IN; an OUT's disposition, 'sent' when none is given. Raises InvalidInput."""
    if movement_type == IN:
        if raw not in (None, '', SENT):
            raise InvalidInput(
                'Only pieces going OUT have a disposition (sent on, scrap or rework).', field='disposition'
            )
        return None
    text = (raw or SENT).strip().lower() if isinstance(raw, str) or raw is None else ''
    if text not in (SENT, SCRAP, REWORK):
        raise InvalidInput(
            N_('Choose what happens to the pieces: sent on, scrap or rework.'), field='disposition', params={}
        )
    return text
