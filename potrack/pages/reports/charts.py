"""The report's charts (ECharts): pieces IN and OUT per IST day per work center, the balance and the pieces
in transit now, and the scrap per reason.

ECharts draws on a canvas, and tooltips use its rich-text mode, so work center codes from the
database are never parsed as HTML. An empty selection says so instead of drawing empty axes.
"""

from __future__ import annotations

from typing import Any

from nicegui import ui

from potrack.reports.scrap import ScrapFigures
from potrack.reports.summaries import DailyFlow, WorkCenterSummary
from potrack.timeutil import zone_label

AXIS_TEXT = '#9ca3af'  # grey that reads on the dark and the light theme
# Mid-tone colours that stand out on the dark and the light background alike.
PALETTE = ['#38bdf8', '#a3e635', '#f59e0b', '#f472b6', '#2dd4bf', '#a78bfa', '#fb7185', '#facc15', '#60a5fa', '#4ade80']
ZOOM_FROM_DAYS = 45  # longer ranges get a zoom slider


def _base(y_name: str) -> dict[str, Any]:
    return {
        'backgroundColor': 'transparent',
        'color': PALETTE,
        'textStyle': {'color': AXIS_TEXT},
        'tooltip': {'trigger': 'axis', 'renderMode': 'richText', 'axisPointer': {'type': 'shadow'}},
        'legend': {'type': 'scroll', 'top': 0, 'textStyle': {'color': AXIS_TEXT}},
        'grid': {'left': 16, 'right': 16, 'top': 40, 'bottom': 16, 'containLabel': True},
        'yAxis': {'type': 'value', 'name': y_name, 'splitLine': {'lineStyle': {'opacity': 0.2}}},
    }


def flow_options(flow: DailyFlow, kind: str) -> dict[str, Any]:
    """Stacked bars: one bar per day, one colour per work center, for IN or OUT."""
    options = _base('pieces')
    options['xAxis'] = {'type': 'category', 'data': [f'{d:%d %b}' for d in flow.days]}
    options['series'] = [
        {'name': f.code, 'type': 'bar', 'stack': kind, 'data': f.qty_in if kind == 'IN' else f.qty_out}
        for f in flow.work_centers
    ]
    if len(flow.days) > ZOOM_FROM_DAYS:
        options['dataZoom'] = [{'type': 'inside'}, {'type': 'slider', 'bottom': 0}]
        options['grid']['bottom'] = 48
    return options


def balance_options(rows: list[WorkCenterSummary]) -> dict[str, Any]:
    """The balance now per work center, and on top of it the pieces on their way there."""
    options = _base('pieces')
    options['xAxis'] = {'type': 'category', 'data': [r.code for r in rows]}
    options['series'] = [
        {'name': 'Balance now', 'type': 'bar', 'stack': 'now', 'data': [r.balance for r in rows]},
        {'name': 'In transit to it', 'type': 'bar', 'stack': 'now', 'data': [r.in_transit for r in rows]},
    ]
    return options


def scrap_options(figures: ScrapFigures) -> dict[str, Any]:
    """Scrapped pieces per reason (most first, from the top), stacked by work center."""
    options = _base('pieces')
    options['xAxis'] = options.pop('yAxis')
    # A category axis runs upwards: the biggest reason on top. A scrap undone whole leaves nothing to draw.
    reasons = [r for r in reversed(figures.scrap) if r.total]
    options['yAxis'] = {'type': 'category', 'data': [r.label for r in reasons]}
    options['series'] = [
        {'name': c.code, 'type': 'bar', 'stack': 'scrap', 'data': [r.by_center.get(c.id, 0) for r in reasons]}
        for c in figures.centers
    ]
    return options


class ChartsView:
    """Charts rebuilt from fresh data; each says in words when there is nothing to draw."""

    def __init__(self) -> None:
        self.container = ui.column().classes('w-full gap-6')

    def show(self, flow: DailyFlow, summary: list[WorkCenterSummary], scrap: ScrapFigures) -> None:
        self.container.clear()
        with self.container:
            self._flow(flow, 'IN', 'Pieces IN per day')
            self._flow(flow, 'OUT', 'Pieces OUT per day')
            ui.label('Balance and pieces in transit now per work center').classes('text-lg font-bold')
            if any(r.balance or r.in_transit for r in summary):
                ui.echart(balance_options(summary)).classes('w-full h-72').mark('chart-balance')
            else:
                ui.label('No pieces are at these work centers for these orders right now.').classes('opacity-70').mark(
                    'balance-empty'
                )
            ui.label('Scrapped pieces per reason').classes('text-lg font-bold')
            if shown := [r for r in scrap.scrap if r.total]:
                height = 'h-48' if len(shown) < 4 else 'h-80'
                ui.echart(scrap_options(scrap)).classes(f'w-full {height}').mark('chart-scrap')
            else:
                ui.label('No pieces of these movements were scrapped.').classes('opacity-70').mark('scrap-empty')

    def _flow(self, flow: DailyFlow, kind: str, title: str) -> None:
        ui.label(f'{title} ({zone_label()} calendar days)').classes('text-lg font-bold')
        moved = any(any(f.qty_in if kind == 'IN' else f.qty_out) for f in flow.work_centers)
        if moved:
            ui.echart(flow_options(flow, kind)).classes('w-full h-80').mark(f'chart-{kind.lower()}')
        else:
            ui.label(f'No {kind} movements match these filters, so there is nothing to chart.').classes(
                'opacity-70'
            ).mark(f'chart-{kind.lower()}-empty')
