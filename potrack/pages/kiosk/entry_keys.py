"""Enter in the kiosk's fields, safe at scanner speed: the focus moves in the browser, never after a round trip.

A scanner types `PO-2026-000104⏎25⏎` in a few milliseconds. Were the focus moved by the server, the digits
typed meanwhile would join the order number. So Enter in the order field moves the focus in the browser,
in the same keystroke, and only then tells the server; and Enter in the quantity field sends both values as
the browser had them at that Enter, so that the save uses what was typed, not a copy still on its way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui
from nicegui.events import GenericEventArguments

DEFAULT_ACTION = 'IN'  # what Enter in the quantity presses; per device or work center once devices exist
ENTER_BADGE = '↵ Enter'

_NATIVE = "(n => n && (n.matches('input') ? n : n.querySelector('input')))(getHtmlElement({id}))"


def _order_enter_js(qty_id: int) -> str:
    return f"""(e) => {{
  if (e.isComposing) return;
  const qty = {_NATIVE.format(id=qty_id)};
  if (qty) qty.focus();
  emit(e.target.value);
}}"""


def _quantity_enter_js(order_id: int) -> str:
    # `form`: the generation of the form this Enter was typed into (FORM_GENERATION_JS, set after each save).
    return f"""(e) => {{
  if (e.isComposing) return;
  const order = {_NATIVE.format(id=order_id)};
  emit({{order: order ? order.value : null, quantity: e.target.value, form: window.potrackFormGeneration || 0}});
}}"""


def form_generation_js(generation: int) -> str:
    """Tell the browser the form it shows now is the `generation`th: sent with the clearing of a saved entry, in
    order on the same connection, so an Enter typed before the clearing arrived carries the older number."""
    # After the pending DOM updates (Vue applies them in a microtask): never a new number beside the old values.
    return f'setTimeout(() => {{ window.potrackFormGeneration = {int(generation)}; }}, 0);'


def typed_text(e: GenericEventArguments, fallback: object) -> str:
    """The field's text sent with the event; the server's copy where none came (a simulated key)."""
    return e.args if isinstance(e.args, str) else str(fallback or '')


def wire_enter_keys(
    order: ui.input,
    qty: ui.input,
    order_entered: Callable[[str], Awaitable[None]],
    quantity_entered: Callable[[str, str, int], Awaitable[None]],
) -> None:
    """Enter (or leaving the field) in `order` moves on to `qty`; Enter in `qty` asks for the default action."""

    async def on_order(e: GenericEventArguments) -> None:
        await order_entered(typed_text(e, order.value))

    async def on_quantity(e: GenericEventArguments) -> None:
        sent = e.args if isinstance(e.args, dict) else {}
        typed_order = sent.get('order') if isinstance(sent.get('order'), str) else order.value
        typed_qty = sent.get('quantity') if isinstance(sent.get('quantity'), str) else qty.value
        form = sent.get('form')
        await quantity_entered(str(typed_order or ''), str(typed_qty or ''), form if isinstance(form, int) else -1)

    async def on_leave() -> None:
        # Quasar reports a blur a moment late, possibly after a whole burst was saved and its form cleared:
        # what it carries is stale, so the server's own copy is looked up, and only if there is one.
        if str(order.value or '').strip():
            await order_entered(str(order.value))

    order.on('keydown.enter', on_order, js_handler=_order_enter_js(qty.id))
    order.on('blur', on_leave, [])
    qty.on('keydown.enter', on_quantity, js_handler=_quantity_enter_js(order.id))


def mark_default(button: ui.button) -> None:
    """Show on `button` that Enter in the quantity presses it, to the eye and to a screen reader."""
    button.props('aria-keyshortcuts=Enter')
    with button:
        ui.badge(ENTER_BADGE).props('color=white text-color=black floating').classes('normal-case').mark('enter-badge')
