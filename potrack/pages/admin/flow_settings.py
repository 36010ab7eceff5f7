"""The flow settings in Admin → Settings: tolerance, receipts off the route, old transit, auto-close, the
default route. Saved together by `orders.flow_settings`, which checks every field and says which is wrong."""

from __future__ import annotations

from nicegui import ui

from potrack.common import site_settings as ss
from potrack.errors import InvalidFields, PotrackError
from potrack.orders.flow_settings import FlowSettings, flow_settings, save_flow_settings
from potrack.pages.forms import clear_errors, show_refusal
from potrack.pages.guard import PageContext

OFF_ROUTE_CHOICES = {
    ss.REFUSE: 'Refuse: a work center receives only orders whose route names it',
    ss.ALLOW: 'Allow, and flag each such receipt in the audit trail',
}
AUTO_CLOSE_CHOICES = {
    ss.OFF: 'No: an administrator closes each finished order',
    ss.ON: 'Yes: an order closes by itself once its planned quantity is finished or scrapped',
}


def _hinted(field: ui.input, hint: str) -> ui.input:
    field.props['hint'] = hint  # set as it is: a quote in the text would break a props string
    # The hint takes the lines it needs: Quasar's fixed 20 px let a second line run into the next heading.
    field.props['hide-bottom-space'] = True
    return field


def _choices(caption: str, options: dict[str, str], marker: str) -> ui.radio:
    """A caption over a group of radio buttons; the group is named by the caption for a screen reader."""
    ui.label(caption).classes('text-base font-medium pt-2')
    radio = ui.radio(options).props('size=lg').mark(marker)
    radio.props['aria-label'] = caption
    return radio


class FlowSettingsSection:
    def __init__(self, ctx: PageContext) -> None:
        self.ctx = ctx
        ui.label('Flow between work centers').classes('text-xl font-bold pt-4').props('role=heading aria-level=2')
        with ui.column().classes('w-full max-w-2xl gap-3'):
            self.tolerance = _hinted(
                self._number('Over-receipt tolerance (%)', 'setting-over-receipt'),
                'How many more pieces than were sent (first step: than planned) a work center may receive; 0: none.',
            )
            self.off_route = _choices(
                'Receipts at a work center not on the order’s route', OFF_ROUTE_CHOICES, 'setting-off-route'
            )
            self.old_hours = _hinted(
                self._number('Transit is old after (hours)', 'setting-transit-old'),
                'Pieces sent on and not received for this long are highlighted.',
            )
            self.auto_close = _choices('Close finished orders by themselves', AUTO_CLOSE_CHOICES, 'setting-auto-close')
            self.route = _hinted(
                ui.input('Route of new orders without one')
                .props('outlined autocomplete=off clearable')
                .classes('w-full')
                .mark('setting-default-route'),
                'Work center codes in order, like WC001>WC002>WC005; a product’s own default route (below) comes '
                'first; empty: no route.',
            )
            ui.button('Save flow settings', on_click=self.save).props('unelevated no-caps size=lg color=teal-8').mark(
                'setting-flow-save'
            )
        # The fields a refusal is shown under. A radio group has no place for one (Quasar draws no message
        # under it), so a refusal about a choice comes as a notification instead of vanishing.
        self.fields: dict[str, ui.element] = {
            ss.OVER_RECEIPT_PCT: self.tolerance,
            ss.TRANSIT_OLD_HOURS: self.old_hours,
            ss.DEFAULT_ROUTE: self.route,
        }

    def _number(self, label: str, marker: str) -> ui.input:
        return ui.input(label).props('outlined inputmode=numeric autocomplete=off').classes('w-72').mark(marker)

    def show(self, values: FlowSettings) -> None:
        self.tolerance.value, self.off_route.value = values.over_receipt_pct, values.off_route
        self.old_hours.value, self.auto_close.value = values.transit_old_hours, values.auto_close
        self.route.value = values.default_route

    async def load(self) -> None:
        try:
            self.show(await self.ctx.call(flow_settings))
        except PotrackError as exc:
            show_refusal(exc)

    async def save(self) -> None:
        clear_errors(self.fields)
        given = FlowSettings(
            over_receipt_pct=self.tolerance.value or '',
            off_route=self.off_route.value or '',
            transit_old_hours=self.old_hours.value or '',
            auto_close=self.auto_close.value or '',
            default_route=self.route.value or '',
        )
        try:
            saved = await self.ctx.call(save_flow_settings, given)
        except PotrackError as exc:
            for each in exc.errors if isinstance(exc, InvalidFields) else [exc]:
                show_refusal(each, self.fields)
            return
        self.show(saved)
        ui.notify('Flow settings saved.', type='positive')
