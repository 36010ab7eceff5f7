"""An order's route as a row of cards, one per step in route order, with the pieces on their way between.

Everything is said in words and numbers (a screen reader reads it, a colour-blind person sees it): an old
transit carries the word "old" as well as its colour. A step the reader may not see keeps its place on the
route without numbers.
"""

from __future__ import annotations

from nicegui import ui

from potrack.orders.progress import Progress, StepPieces
from potrack.timeutil import format_local, zone_label

# Black on amber-9 (7.5:1), as the kiosk's "Waiting long" and the balances page's badge: one look for old
# transit everywhere (white on orange-10 was 3.8:1, under the 4.5 that text needs).
OLD_COLOUR, OLD_TEXT = 'amber-9', 'black'


def step_lines(step: StepPieces, last: bool) -> list[tuple[str, int]]:
    """The numbers a card shows, in the order a person reads them."""
    lines = [('Received', step.qty_in), ('In progress here', step.held)]
    if step.qty_scrap:
        lines.append(('Scrapped', step.qty_scrap))
    if step.qty_rework:
        lines.append(('Sent back for rework', step.qty_rework))
    lines.append(('Finished' if last else 'Sent on', step.sent_on))
    return lines


def transit_text(step: StepPieces, first: bool) -> str:
    coming = 'coming back for rework' if first else 'on the way'
    since = f'{format_local(step.transit_since)} {zone_label(step.transit_since)}' if step.transit_since else ''
    return f'{step.in_transit} {coming} to {step.code}' + (f', since {since}' if since else '')


class RouteDiagram:
    def __init__(self) -> None:
        self.box = ui.row().classes('w-full items-stretch gap-2').mark('route-diagram')

    def show(self, progress: Progress, route_length: int) -> None:
        """`route_length`: how many of `progress.steps` are the route's (0: the order has no route)."""
        self.box.clear()
        with self.box:
            for i, step in enumerate(progress.steps):
                on_route = i < route_length
                # What comes to a step goes with its card when the row wraps (a narrow screen): an arrow is
                # never left at the end of a line, pointing at nothing.
                with ui.row().classes('items-stretch gap-2 no-wrap'):
                    if step.in_transit and step.shown:
                        self.transit(step, first=i == 0)
                    elif on_route and i > 0:
                        ui.label('→').classes('self-center text-2xl opacity-60').props('aria-hidden=true')
                    self.card(step, i + 1 if on_route else None, last=on_route and i == route_length - 1)

    def transit(self, step: StepPieces, *, first: bool) -> None:
        with ui.column().classes('self-center items-center gap-1 px-1').mark(f'route-transit-{step.code}'):
            ui.label('↩' if first else '→').classes('text-2xl').props('aria-hidden=true')
            ui.label(transit_text(step, first)).classes('text-sm potrack-num text-center max-w-[9rem]')
            if step.transit_old:
                ui.badge('Old: waiting too long', color=OLD_COLOUR, text_color=OLD_TEXT).classes(
                    'text-sm font-bold'
                ).mark(f'route-transit-old-{step.code}')

    def card(self, step: StepPieces, position: int | None, *, last: bool) -> None:
        title = f'{position}. {step.code}' if position is not None else step.code
        with ui.card().classes('min-w-[11rem] gap-1 p-3').props('flat bordered').mark(f'route-step-{step.code}'):
            ui.label(f'{title} {step.name}'.strip()).classes('text-lg font-bold')
            if not step.on_route:
                ui.label('Not on the route').classes('text-sm italic')
            if step.work_center_id is None:
                ui.label('No work center has this code').classes('text-sm potrack-error')
                return
            if not step.shown:
                ui.label('Not one of your work centers').classes('text-sm opacity-80')
                return
            for label, number in step_lines(step, last):
                with ui.row().classes('w-full justify-between gap-3 no-wrap'):
                    ui.label(label).classes('text-base')
                    ui.label(f'{number:,}').classes('text-base potrack-num font-medium')
