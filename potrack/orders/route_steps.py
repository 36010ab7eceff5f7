"""An order's route as work centers, in route order: what the kiosk offers as rework targets."""

from __future__ import annotations

from dataclasses import dataclass

from potrack.common.routes import route_codes
from potrack.orders.progress import Progress


@dataclass(frozen=True)
class RouteStep:
    """One step of a route. `work_center_id` is None when the code names no work center (renamed since)."""

    work_center_id: int | None
    code: str
    name: str

    @property
    def label(self) -> str:
        return f'{self.code} {self.name}'.strip()


def route_steps(route: str, progress: Progress) -> tuple[RouteStep, ...]:
    """The route's steps, resolved already by the progress read (its first steps are the route's, in order,
    each with its work center, also one the reader may not see)."""
    length = len(dict.fromkeys(route_codes(route)))
    return tuple(RouteStep(s.work_center_id, s.code, s.name) for s in progress.steps[:length])
