"""An order's route: the codes of the work centers its pieces pass, in order, stored joined by '>'."""

from __future__ import annotations

ROUTE_SEPARATOR = '>'


def route_codes(route: str | None) -> list[str]:
    """The route's codes in order. A code named twice (routes saved before they were checked) counts at its
    first place: a work center is one step of a route."""
    return list(dict.fromkeys(code for code in (route or '').split(ROUTE_SEPARATOR) if code))


def shown_route(route: str | None) -> str:
    """A route as people read it: WC001 → WC002 → WC005."""
    return ' → '.join(route_codes(route))
