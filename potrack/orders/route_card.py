"""Route cards: the sheet of paper that travels with an order through the shop, one per order.

A card carries the order number twice over, as a Code 128 barcode (the kiosks' hand scanners) and as a QR
code (phones, 2D scanners), both of which read back as exactly the number; then the product, the planned
quantity, the due date and one box per work center of the route for the count in and out, the date and a
signature. The symbols are drawn by python-barcode and segno, as SVG sized in millimetres for paper.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import segno
from barcode import Code128  # type: ignore[import-untyped]
from barcode.charsets import code128  # type: ignore[import-untyped]
from barcode.writer import SVGWriter  # type: ignore[import-untyped]
from sqlmodel import Session, col, select

from potrack.common.actors import Actor, load_user
from potrack.common.validation import normalize_order_number
from potrack.db.engine import database
from potrack.db.models import OrderHeader, WorkCenter
from potrack.db.types import utcnow
from potrack.errors import InvalidInput, NotFound

CARDS_PER_REQUEST_MAX = 200  # a print job of 200 sheets is already a ream's worth of one printer's tray
BLANK_STEPS = 6  # boxes on the card of an order without a route: enough for most routes of the plant
ROUTE_SEPARATOR = '>'

# Code 128 on an office laser printer, read by a hand scanner: the module (narrowest bar) as wide as the
# number's length allows, between 0.33 mm (the number of 40 characters) and 0.5 mm (a short number);
# a quiet zone of 10 modules each side (ISO/IEC 15417's minimum); the whole within the card's width on
# A4 and on Letter (190 mm between the margins), with room to spare.
CODE128_WIDTH_MAX_MM = 170.0
CODE128_MODULE_MAX_MM = 0.5
CODE128_QUIET_MODULES = 10
CODE128_HEIGHT_MM = 18.0
QR_MODULE_MM = 1.0  # the page draws it at a fixed size; this only sets its own width and height
QR_BORDER_MODULES = 4  # the quiet zone ISO/IEC 18004 asks for


@dataclass(frozen=True)
class RouteStep:
    """One box of the card: a work center of the route (code and name), or a blank box (both '')."""

    position: int  # 1 for the first work center
    code: str
    name: str


@dataclass(frozen=True)
class RouteCard:
    order_number: str
    product_code: str
    product_description: str
    planned_quantity: int | None  # None: not known
    due_date: date | None
    status: str
    notes: str
    steps: tuple[RouteStep, ...]
    has_route: bool  # False: the steps are BLANK_STEPS blank boxes to be filled in by hand
    printed_by: str
    printed_at: datetime  # UTC


def route_cards(actor: Actor, order_numbers: Sequence[str]) -> list[RouteCard]:
    """The cards of the orders, in the order asked for (each number once); any signed-in user may print.

    Raises SignedOut (the actor's session has ended), InvalidInput (no number, more than
    CARDS_PER_REQUEST_MAX, a number that cannot be an order number) and NotFound (naming the numbers that
    are not in the order book).
    """
    if not order_numbers:
        raise InvalidInput('Choose at least one order to print a route card for.', field='order_number')
    if len(order_numbers) > CARDS_PER_REQUEST_MAX:
        raise InvalidInput(
            f'At most {CARDS_PER_REQUEST_MAX} route cards can be printed at once; '
            f'{len(order_numbers)} were asked for. Print them in smaller batches.',
            field='order_number',
        )
    numbers = list(dict.fromkeys(normalize_order_number(raw) for raw in order_numbers))
    with database().read() as session:
        user = load_user(session, actor)
        orders = _orders(session, numbers)
        centers = _work_centers(session, orders)
    printed_by, printed_at = user.full_name or user.username, utcnow()
    return [_card(orders[number], centers, printed_by, printed_at) for number in numbers]


def _orders(session: Session, numbers: list[str]) -> dict[str, OrderHeader]:
    rows = session.exec(select(OrderHeader).where(col(OrderHeader.order_number).in_(numbers))).all()
    found = {row.order_number: row for row in rows}
    missing = [number for number in numbers if number not in found]
    if missing:
        named = ', '.join(missing[:5]) + (f' and {len(missing) - 5} more' if len(missing) > 5 else '')
        verb = 'is' if len(missing) == 1 else 'are'
        raise NotFound(f'{named} {verb} not in the order book: no route card printed.', field='order_number')
    return found


def _work_centers(session: Session, orders: dict[str, OrderHeader]) -> dict[str, WorkCenter]:
    codes = {code for order in orders.values() for code in _route_codes(order.route)}
    if not codes:
        return {}
    return {wc.code: wc for wc in session.exec(select(WorkCenter).where(col(WorkCenter.code).in_(codes)))}


def _route_codes(route: str) -> list[str]:
    return [code for code in route.split(ROUTE_SEPARATOR) if code]


def _step_name(code: str, centers: dict[str, WorkCenter]) -> str:
    wc = centers.get(code)
    if wc is None:
        return '(not in the list of work centers)'  # the ERP's route names one this plant has not set up
    return wc.name if wc.is_active else f'{wc.name} (deactivated)'


def _card(order: OrderHeader, centers: dict[str, WorkCenter], printed_by: str, printed_at: datetime) -> RouteCard:
    codes = _route_codes(order.route)
    if codes:
        steps = tuple(RouteStep(i, code, _step_name(code, centers)) for i, code in enumerate(codes, start=1))
    else:
        steps = tuple(RouteStep(i, '', '') for i in range(1, BLANK_STEPS + 1))
    return RouteCard(
        order_number=order.order_number,
        product_code=order.product_code,
        product_description=order.product_description,
        planned_quantity=order.planned_quantity,
        due_date=order.due_date,
        status=order.status,
        notes=order.notes,
        steps=steps,
        has_route=bool(codes),
        printed_by=printed_by,
        printed_at=printed_at,
    )


class _Code128(Code128):
    """python-barcode's Code 128 without its bug of dropping a leading "99" (its issue #251).

    Its start-code shortcut took the digit pair 99 in set C for the switch to set C: PO number "9912"
    printed as "12". Fixed upstream (pull request #263), not yet in a release (0.16.1); this is that fix.
    tests/test_route_card.py decodes numbers starting with 99, so a release that changes this shows up there.
    """

    def _try_to_optimize(self, encoded: list[int]) -> list[int]:
        # Only a real switch to set A or B right after START_C folds into START_A or START_B.
        if encoded[0] == code128.START_CODES['C'] and encoded[1:2] in ([code128.C['TO_A']], [code128.C['TO_B']]):
            encoded[:2] = [code128.TO[encoded[1]]]
        return encoded


@lru_cache(maxsize=1024)
def barcode_svg(order_number: str) -> bytes:
    """The order number as a Code 128 barcode (SVG, sized in mm, no text under it). Raises InvalidInput."""
    number = normalize_order_number(order_number)
    symbol = _Code128(number, writer=SVGWriter())
    modules = len(symbol.build()[0])
    module_mm = min(CODE128_MODULE_MAX_MM, CODE128_WIDTH_MAX_MM / (modules + 2 * CODE128_QUIET_MODULES))
    options = {
        'module_width': module_mm,
        'module_height': CODE128_HEIGHT_MM,
        'quiet_zone': CODE128_QUIET_MODULES * module_mm,
        'margin_top': 0,
        'margin_bottom': 0,
        'write_text': False,
    }
    return bytes(symbol.render(writer_options=options))


@lru_cache(maxsize=1024)
def qr_svg(order_number: str) -> bytes:
    """The order number as a QR code (SVG, black on white, error correction M or better). Raises InvalidInput."""
    number = normalize_order_number(order_number)
    out = io.BytesIO()
    symbol = segno.make_qr(number, error='m', boost_error=True)
    symbol.save(out, kind='svg', scale=QR_MODULE_MM, unit='mm', border=QR_BORDER_MODULES, dark='#000', light='#fff')
    return out.getvalue()
