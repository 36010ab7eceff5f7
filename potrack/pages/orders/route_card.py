"""Route cards to print: `/orders/cards?orders=PO-1,PO-2`, one A4 or Letter sheet per order, no app chrome.

The barcode and the QR code are images served by their own routes (`/orders/code128/<number>.svg`,
`/orders/qr/<number>.svg`), never markup written into the page: the page holds no raw HTML, the browser
caches each symbol, and a symbol's route answers only a signed-in browser, like every page.
The sheets are one element (`RouteCardSheets`, drawn by route_card_sheets.js from the data `sheet` makes):
a few hundred cards must not mean tens of thousands of elements built on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response
from nicegui import app, ui

from potrack.accounts.sessions import validate_session
from potrack.errors import InvalidInput, NotSaved, PotrackError, SignedOut
from potrack.orders.route_card import RouteCard, barcode_svg, qr_svg, route_cards
from potrack.pages.guard import SESSION_COOKIE, offload, open_page
from potrack.timeutil import format_local, zone_label

CARDS_CSS = '<link rel="stylesheet" href="/assets/print-cards.css">'
# The same symbol for the same number, always: a browser may keep it a day (private: behind a sign-in).
SYMBOL_CACHE = 'private, max-age=86400'
# Opened on its own, a symbol is a document: nothing in it may run or load; its bars are styled inline.
SYMBOL_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
FIELDS = ['In (pcs)', 'Out (pcs)', 'Date', 'Signature']  # the room in each work center's box
# Beside the QR code, 150 mm hold 28 characters of the number in large type; a longer one (up to 40) is
# set smaller (print-cards.css) rather than broken over two lines.
NUMBER_LARGE_MAX_CHARS = 28
# A Letter sheet holds 9 boxes of a comfortable height under the card's head; a longer route gets lower
# boxes (print-cards.css), 13 to a sheet, and goes on over the next sheet after that.
STEPS_ROOMY_MAX = 9


class RouteCardSheets(ui.element, component='route_card_sheets.js'):
    """Every card of the page, one sheet each; the browser lays them out from `sheet`'s data."""

    def __init__(self, cards: list[RouteCard]) -> None:
        super().__init__()
        self.props['cards'] = [sheet(card) for card in cards]
        self.props['fields'] = FIELDS
        self.props['blank'] = 'Work center'


def requested_numbers(raw: str) -> list[str]:
    """The numbers of `?orders=PO-1,PO-2` as typed (the service checks each)."""
    return [part.strip() for part in raw.split(',') if part.strip()]


def symbol_url(kind: str, order_number: str) -> str:
    # Every character escaped: a '/' in a number travels as %2F and a proxy cannot merge '//' in it.
    return f'/orders/{kind}/{quote(order_number, safe="")}.svg'


def sheet(card: RouteCard) -> dict[str, Any]:
    """What one sheet shows, as text, URLs and class names: route_card_sheets.js only lays it out."""
    product = ' · '.join(part for part in (card.product_code, card.product_description) if part)
    facts = [
        ['Planned quantity', f'{card.planned_quantity:,} pcs' if card.planned_quantity else 'not known'],
        ['Due date', card.due_date.strftime('%d %b %Y') if card.due_date else '—'],
    ]
    if card.status != 'open':
        facts.append(['Status', card.status.upper()])
    if card.has_route:
        route_title = f'Route: {len(card.steps)} work centers, in this order'
    else:
        route_title = 'No route in the order book: write the work center in each box as the order moves on.'
    many_steps = len(card.steps) > STEPS_ROOMY_MAX
    return {
        'number': card.order_number,
        'number_class': 'rc-number rc-number-long' if len(card.order_number) > NUMBER_LARGE_MAX_CHARS else 'rc-number',
        'lead': [['Product', product or '—']],
        'facts': facts,
        'trail': [['Notes', card.notes]] if card.notes else [],
        'qr_src': symbol_url('qr', card.order_number),
        'qr_alt': f'QR code of {card.order_number}',
        'code128_src': symbol_url('code128', card.order_number),
        'code128_alt': f'Barcode of {card.order_number}',
        'route_title': route_title,
        'steps_class': 'rc-steps rc-steps-many' if many_steps else 'rc-steps',
        'steps': [{'position': s.position, 'code': s.code, 'name': s.name} for s in card.steps],
        'printed': f'Printed {format_local(card.printed_at)} {zone_label(card.printed_at)} by {card.printed_by}',
    }


def toolbar(count: int) -> None:
    """On screen only (print-cards.css hides it): print, go back, and what the print will be."""
    with ui.element('div').classes('rc-toolbar'):
        if count:
            ui.button('Print', icon='print').props('unelevated color=teal-8 size=lg').on(
                'click', js_handler='() => window.print()'
            ).mark('print')
        ui.button('Back', icon='arrow_back').props('flat color=teal-9 size=lg').on(
            'click', js_handler="() => (history.length > 1 ? history.back() : window.location.assign('/'))"
        )
        if count:
            ui.label(f'{count} route card{"s" if count != 1 else ""}: one sheet each, A4 or Letter.').classes(
                'text-base'
            ).mark('cards-count')


def checked_symbol(token: str | None, number: str, draw: Callable[[str], bytes]) -> bytes:
    """`draw(number)` for the browser of `token`: SignedOut unless its session is live (not touched: an image
    is not activity). Run off the event loop: drawing a symbol costs ~15 ms of Python, a sheet has two."""
    validate_session(token, touch=False)
    return draw(number)


async def symbol_response(request: Request, number: str, draw: Callable[[str], bytes]) -> Response:
    """The symbol of `number` for a signed-in browser; a plain-text refusal otherwise."""
    try:
        svg = await offload(checked_symbol, request.cookies.get(SESSION_COOKIE), number, draw)
    except SignedOut as exc:
        return PlainTextResponse(exc.message, status_code=401)
    except NotSaved as exc:
        return PlainTextResponse(exc.message, status_code=503)
    except InvalidInput as exc:
        return PlainTextResponse(exc.message, status_code=400)
    headers = {'Cache-Control': SYMBOL_CACHE, 'Content-Security-Policy': SYMBOL_CSP}
    return Response(svg, media_type='image/svg+xml', headers=headers)


def register() -> None:
    @ui.page('/orders/cards')
    async def cards_page(request: Request, orders: str = '') -> Response | None:
        ctx = await open_page(request)
        if isinstance(ctx, Response):
            return ctx
        ui.page_title('Route cards · potrack')
        ui.dark_mode(False)  # a preview of white paper
        ui.add_head_html(CARDS_CSS)
        ui.query('body').classes('rc-page')
        try:
            cards = await ctx.call(route_cards, requested_numbers(orders))
        except PotrackError as exc:
            toolbar(0)
            if not isinstance(exc, SignedOut):
                ui.label(exc.message).classes('rc-refusal').mark('cards-refusal')
            return None
        toolbar(len(cards))
        RouteCardSheets(cards).mark('route-cards')
        return None

    @app.get('/orders/code128/{number:path}.svg', include_in_schema=False)
    async def code128_image(request: Request, number: str) -> Response:
        return await symbol_response(request, number, barcode_svg)

    @app.get('/orders/qr/{number:path}.svg', include_in_schema=False)
    async def qr_image(request: Request, number: str) -> Response:
        return await symbol_response(request, number, qr_svg)
