"""What an OUT does with its pieces, chosen with one tap: sent on (the default), scrap or rework.

Scrap asks why (the active scrap reasons); rework asks why and which earlier step of the order's route
the pieces go back to. The page only offers; the ledger decides (a missing reason, a step that is not
earlier on the route) and its sentence is shown here, under the choice it is about.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nicegui import ui

from potrack.errors import PotrackError
from potrack.i18n import N_, Translator
from potrack.masters.reasons import Reason, list_reasons
from potrack.orders.listing import OrderLookup
from potrack.orders.route_steps import RouteStep
from potrack.pages.forms import refusal_text
from potrack.pages.guard import PageContext
from potrack.pages.kiosk.choices import LIST, Choices

SENT, SCRAP, REWORK = 'sent', 'scrap', 'rework'
DISPOSITIONS = ((SENT, N_('Sent on')), (SCRAP, N_('Scrap')), (REWORK, N_('Rework')))
OUT_LABELS = {SENT: N_('OUT'), SCRAP: N_('OUT: scrap'), REWORK: N_('OUT: rework')}
NO_REASONS = {
    SCRAP: N_('No scrap reasons are set up yet: ask an administrator (Admin → Reasons).'),
    REWORK: N_('No rework reasons are set up yet: ask an administrator (Admin → Reasons).'),
}
FIELDS = ('disposition', 'reason', 'rework_to')  # the ledger's refusals that belong under this choice


def earlier_steps(route: tuple[RouteStep, ...], here: int | None) -> tuple[RouteStep, ...] | None:
    """The steps before this work center on the route; None when it is not on the route."""
    ids = [step.work_center_id for step in route]
    if here is None or here not in ids:
        return None
    return route[: ids.index(here)]


class DispositionPicker:
    """Sent on / Scrap / Rework, with the reason and the rework target when they are needed."""

    def __init__(self, ctx: PageContext, on_change: Callable[[str], None], t: Translator) -> None:
        self.ctx = ctx
        self.t = t
        self.on_change = on_change
        self.reasons: dict[str, list[Reason]] = {}  # by kind, read when first needed and after 'masters'
        self.labels: dict[int, str] = {}
        self.found: OrderLookup | None = None
        self.here: int | None = None
        self.here_code = ''
        with ui.card().props('flat bordered').classes('w-full gap-2 p-3').mark('disposition-box'):
            self.kind = Choices(t.gettext('The pieces going OUT are'), marker='disposition', on_pick=self.picked)
            self.kind.set_options([(key, t.gettext(label)) for key, label in DISPOSITIONS], SENT)
            self.reason = Choices(t.gettext('Why?'), marker='reason', on_pick=self.hide_error, size=LIST)
            self.target = Choices(t.gettext('Send back to'), marker='rework-to', on_pick=self.hide_error, size=LIST)
            self.note = ui.label('').classes('text-base').mark('rework-note')
            # One element: its icon is drawn by kiosk.css (.potrack-error-line), not an icon and a row of its own.
            self.error = self.error_text = (
                ui.label('').classes('potrack-error-line text-base font-bold').mark('disposition-error')
            )
        self.error.set_visibility(False)
        self.show_parts()

    @property
    def value(self) -> str:
        return str(self.kind.value or SENT)

    def movement_args(self) -> dict[str, Any]:
        """What record_movement takes for an OUT with this choice."""
        if self.value == SENT:
            return {'disposition': SENT}
        return {
            'disposition': self.value,
            'reason_id': self.reason.value,
            'rework_to': self.target.value if self.value == REWORK else None,
        }

    def key(self) -> tuple[object, ...]:
        args = self.movement_args()
        return args['disposition'], args.get('reason_id'), args.get('rework_to')

    def reason_label(self, reason_id: int | None) -> str:
        return self.labels.get(reason_id or 0, '')

    async def picked(self, value: object) -> None:
        self.hide_error()
        self.on_change(self.value)
        if value in (SCRAP, REWORK):
            await self.load_reasons(str(value))
        self.show_parts()

    def reset(self) -> None:
        """Back to the default after a save: the next OUT is sent on unless someone taps otherwise."""
        self.kind.choose(SENT)
        self.reason.choose(None)
        self.target.choose(self.only_target())
        self.on_change(SENT)
        self.show_parts()

    async def load_reasons(self, kind: str) -> None:
        if kind not in self.reasons:
            try:
                self.reasons[kind] = await self.ctx.call(list_reasons, kind=kind)
            except PotrackError as exc:
                self.show_error(refusal_text(exc, self.t))
                return
        found = self.reasons[kind]
        self.labels.update({r.id: r.label for r in found})
        chosen = self.reason.value if any(r.id == self.reason.value for r in found) else None
        self.reason.set_options([(r.id, r.label) for r in found], chosen)

    async def reasons_changed(self) -> None:
        """An admin changed the lists ('masters'): read them again when next needed, now if one is shown."""
        self.reasons.clear()
        if self.value in (SCRAP, REWORK):
            await self.load_reasons(self.value)
            self.show_parts()

    def set_order(self, found: OrderLookup | None, here: int | None, here_code: str) -> None:
        self.found, self.here, self.here_code = found, here, here_code
        steps = earlier_steps(found.route, here) if found else None
        options = [(s.work_center_id, s.label) for s in steps or () if s.work_center_id is not None]
        self.target.set_options(options, self.target.value)
        if (only := self.only_target()) is not None:
            self.target.choose(only)
        self.show_parts()

    def only_target(self) -> object | None:
        """The one earlier step, when there is only one: nothing to choose, so it is chosen already (the
        operator is not stopped by "choose the earlier step" for pieces that can only go back one way)."""
        return next(iter(self.target.buttons)) if len(self.target.buttons) == 1 else None

    def rework_note(self) -> str:
        t = self.t
        if self.found is None:
            return t.gettext('Enter the order number to see the earlier steps of its route.')
        order, here = self.found.order_number, self.here_code
        if not self.found.route:
            return t.gettext('{order} has no route: there is no earlier step to send pieces back to.').format(
                order=order
            )
        steps = earlier_steps(self.found.route, self.here)
        if steps is None:
            return t.gettext(
                '{here} is not on the route of {order}: there is no earlier step to send pieces back to.'
            ).format(here=here, order=order)
        if not steps:
            return t.gettext(
                '{here} is the first step of {order}: there is no earlier step to send pieces back to.'
            ).format(here=here, order=order)
        if not self.target.buttons:  # the codes on the route name no work center any more
            codes = ', '.join(step.code for step in steps)
            return t.gettext(
                'The earlier steps of {order} ({codes}) are not work centers any more: ask the office.'
            ).format(order=order, codes=codes)
        return ''

    def show_parts(self) -> None:
        kind = self.value
        self.reason.show(kind in (SCRAP, REWORK))
        t = self.t
        self.reason.caption.set_text(
            t.gettext('Why are they scrapped?') if kind == SCRAP else t.gettext('Why do they go back?')
        )
        if kind in (SCRAP, REWORK) and not self.reason.buttons:
            self.note.set_text(t.gettext(NO_REASONS[kind]))
        else:
            self.note.set_text(self.rework_note() if kind == REWORK else '')
        self.target.show(kind == REWORK and bool(self.target.buttons))
        self.note.set_visibility(bool(self.note.text))
        if kind == SENT:
            self.error.set_visibility(False)

    def hide_error(self, _: object = None) -> None:
        self.error.set_visibility(False)

    def show_error(self, message: str) -> None:
        self.error_text.set_text(message)
        self.error.set_visibility(True)

    def show_refusal(self, exc: PotrackError) -> bool:
        """Put the ledger's refusal under this choice when it is about it; False when it is about another field."""
        if exc.field not in FIELDS:
            return False
        self.show_error(refusal_text(exc, self.t))
        return True
