"""Whether a route's codes name work centers, and the route a new order gets when it arrives without one.

`fields.parse_route` checks a route's form (codes, no step twice) without the database; this module
checks it against the work centers, so that a typo like WC0O2 is refused where it is typed (dialog,
file line, API body, default route), not found later at a kiosk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from potrack.common import site_settings
from potrack.common.routes import route_codes
from potrack.db.tables import CENTERS, PRODUCT_ROUTES
from potrack.errors import InvalidInput

_CHUNK = 500  # codes or product codes per IN (...)


def known_codes(session: Session, codes: Iterable[str]) -> set[str]:
    """Those of `codes` that are work centers' codes (active or not)."""
    wanted = sorted(set(codes))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        found.update(session.connection().execute(select(CENTERS.c.code).where(CENTERS.c.code.in_(chunk))).scalars())
    return found


def route_problem(route: str, known: set[str]) -> str | None:
    """Why `route` cannot be used ("route "WC001>WC099": WC099 is not a work center."), or None."""
    unknown = [code for code in route_codes(route) if code not in known]
    if not unknown:
        return None
    names = ', '.join(unknown)
    verb = 'is not a work center' if len(unknown) == 1 else 'are not work centers'
    return f'route "{route}": {names} {verb}.'


def route_problems(session: Session, routes: Sequence[str]) -> list[str | None]:
    """For each route, its problem or None (one query for all of them)."""
    known = known_codes(session, (code for route in routes for code in route_codes(route)))
    return [route_problem(route, known) for route in routes]


def check_route(session: Session, route: str, *, field: str = 'route', about: str = '') -> str:
    """`route` when each of its codes is a work center. Raises InvalidInput naming the codes that are not."""
    problem = route_problems(session, [route])[0]
    if problem is not None:
        raise InvalidInput(f'{about}{problem}', field=field)
    return route


def default_routes(session: Session, product_codes: Iterable[str]) -> dict[str, str]:
    """The route a new order of each product gets: the product's own default, else the site's ('' : none)."""
    wanted = sorted(set(product_codes))
    found: dict[str, str] = {}
    table = PRODUCT_ROUTES
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(table.c.product_code, table.c.route).where(table.c.product_code.in_(chunk))
        found.update({code: route for code, route in session.connection().execute(query)})
    site = site_settings.get(session, site_settings.DEFAULT_ROUTE) if len(found) < len(wanted) else ''
    return {code: found.get(code, site) for code in wanted}
