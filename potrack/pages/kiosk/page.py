"""The operator's kiosk: choose a work center, scan an order, key a quantity, press IN or OUT."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from fastapi import Request
from fastapi.responses import Response
from nicegui import app, ui

from potrack.accounts.device_view import DEVICE_COOKIE
from potrack.accounts.language import set_language
from potrack.common.validation import normalize_order_number
from potrack.errors import NotSaved, OutcomeUnknown, PotrackError, UnknownOrder
from potrack.ledger.reversal import UNDO_REASON, reverse_movement
from potrack.ledger.transit import Incoming
from potrack.ledger.writer import MovementResult, record_movement
from potrack.masters.catalog import WorkCenterInfo
from potrack.orders.listing import OrderLookup
from potrack.pages import live_bridge
from potrack.pages.auth_routes import browser_id
from potrack.pages.forms import clear_errors, refusal_text, show_refusal
from potrack.pages.guard import PageContext, open_page
from potrack.pages.kiosk.cards import WorkCenterCards
from potrack.pages.kiosk.disposition import DispositionPicker
from potrack.pages.kiosk.entry_keys import DEFAULT_ACTION, form_generation_js
from potrack.pages.kiosk.feedback import mute_button
from potrack.pages.kiosk.form import EntryForm, RequestIds
from potrack.pages.kiosk.incoming import IncomingPanel
from potrack.pages.kiosk.live_changes import LiveChanges
from potrack.pages.kiosk.messages import CHOOSE_WORK_CENTER, IN_DOUBT, STILL_SAVING, saved_text, undone_text
from potrack.pages.kiosk.operator_bar import OperatorBar, kiosk_work_centers, no_work_centers_text
from potrack.pages.kiosk.order_card import OrderCard
from potrack.pages.kiosk.recent import RecentEntries, RecentFeed
from potrack.pages.kiosk.start_offer import StartOffer
from potrack.pages.language import translator_for
from potrack.pages.language_toggle import language_toggle, speak
from potrack.pages.layout import frame

LAST_WC_KEY = 'kiosk_work_center'
SLOW_SAVE_S = 1.5  # past this the kiosk says it is still saving (a database wait, or an in-doubt commit read back)
KIOSK_CSS = '<link rel="stylesheet" href="/assets/kiosk.css">'
REPEAT_TAP_S = 2.0  # an IN/OUT tap on the empty form this soon after a save is the rest of a double tap


class Kiosk(LiveChanges):
    def __init__(self, ctx: PageContext, work_centers: list[WorkCenterInfo]) -> None:
        self.ctx = ctx
        self.t = translator_for(ctx)  # every part this page builds speaks its operator's language
        self.work_centers = {wc.id: wc for wc in work_centers}
        remembered = app.storage.user.get(LAST_WC_KEY)
        self.wc_id: int | None = remembered if remembered in self.work_centers else None
        if self.wc_id is None and len(work_centers) == 1:
            self.wc_id = work_centers[0].id
        self.requests = RequestIds()
        self.saved_at = 0.0
        self.form_generation = 0  # how many entries this page has saved and cleared (entry_keys.form_generation_js)
        device = ctx.session_user.device  # an enrolled kiosk device: its admin chose what Enter presses
        self.default_action = device.default_action if device else DEFAULT_ACTION
        self.operator: OperatorBar | None = None  # set on a device: sign-out after each entry
        # This page's own saves, until their change notices arrive: the card already shows them.
        self.own_saves: deque[tuple[int, str, float]] = deque(maxlen=16)
        self.build()

    def build(self) -> None:
        ui.add_head_html(KIOSK_CSS)
        with ui.column().classes('potrack-kiosk w-full gap-2'):
            t = self.t
            self.cards = WorkCenterCards(self.choose, beside_heading=self.beside_heading, t=t)
            self.cards.build(list(self.work_centers.values()))
            with ui.element('div').classes('potrack-kiosk-main'):
                self.form = EntryForm(self.order_entered, self.quantity_entered, self.save, self.default_action, t)
                self.order, self.qty, self.status = self.form.order, self.form.qty, self.form.status
                with ui.column().classes('w-full min-w-0 gap-3'):
                    self.start_offer = StartOffer(lambda kind: self.save(kind, start=True), t)
                    self.disposition = DispositionPicker(self.ctx, self.form.show_disposition, t)
                    self.incoming = IncomingPanel(self.ctx, self.fill, t)
                    self.card = OrderCard(self.ctx, self.work_centers, self.order_found, t)
                    self.recent = RecentEntries(self.ctx, self.undo, t)
        self.paint_cards()

    def beside_heading(self) -> None:
        """Beside the h1: the operator's language switch and the device's sound switch."""
        language_toggle(self.t, self.switch_language)
        mute_button(self.t)

    async def switch_language(self, language: str) -> None:
        """The operator's own choice, kept on their account; the page comes back in it."""
        try:
            await self.ctx.call(set_language, language=language)
        except PotrackError as exc:
            self.say(refusal_text(exc, self.t), 'error')
            return
        ui.navigate.reload()

    async def reload_work_centers(self) -> None:
        """An admin changed work centers or department links: show the new set, keep the typed entry."""
        try:
            work_centers = await kiosk_work_centers(self.ctx)
        except PotrackError:
            return
        self.work_centers.clear()
        self.work_centers.update({wc.id: wc for wc in work_centers})
        if self.wc_id not in self.work_centers:
            self.wc_id = work_centers[0].id if len(work_centers) == 1 else None
        self.cards.build(work_centers)
        self.paint_cards()
        await self.disposition.reasons_changed()
        await self.recent.show(self.wc_id)
        await self.incoming.show(self.wc_id)

    def paint_cards(self) -> None:
        self.cards.paint(self.wc_id)
        ready = self.wc_id is not None
        self.form.set_ready(ready)
        if not ready:
            self.say(self.t.gettext(CHOOSE_WORK_CENTER), 'info')

    async def choose(self, wc_id: int) -> None:
        self.wc_id = wc_id
        app.storage.user[LAST_WC_KEY] = wc_id
        self.paint_cards()
        self.status.hide()
        await self.recent.show(wc_id)
        await self.incoming.show(wc_id)
        await self.card.show(self.card.order, wc_id)
        self.order.run_method('focus')

    async def order_entered(self, raw: str) -> None:
        self.order.value = raw  # as the browser had it at this Enter: the update may still be on its way
        if not raw.strip():
            await self.card.show('', self.wc_id)
            return
        try:
            order = normalize_order_number(raw)
        except PotrackError as exc:
            show_refusal(exc, self.form.fields, self.t)
            # In the result line too: the field's own line is hidden (kiosk.css).
            self.say(refusal_text(exc, self.t), 'error')
            return
        clear_errors({'order_number': self.order})
        if order != raw:
            self.order.value = order
        if order != self.card.order:
            await self.card.show(order, self.wc_id)

    def order_found(self, found: OrderLookup | None) -> None:
        wc = self.work_centers.get(self.wc_id or 0)
        self.disposition.set_order(found, self.wc_id, wc.code if wc else '')

    async def fill(self, item: Incoming) -> None:
        """A tap on "sent to you": the order and its quantity, ready for IN."""
        clear_errors(self.form.fields)
        self.order.value, self.qty.value = item.order_number, str(item.quantity)
        filled = self.t.gettext('{qty} of {order} filled in: press IN to receive them.')
        self.say(filled.format(qty=self.t.number(item.quantity), order=item.order_number), 'info')
        self.form.in_button.run_method('focus')
        if item.order_number != self.card.order:
            await self.card.show(item.order_number, self.wc_id)

    def say(self, text: str, kind: str, *, sound: bool = False) -> None:
        self.status.say(text, kind, sound=sound)

    async def quantity_entered(self, order: str, qty: str, form: int) -> None:
        """Enter in the quantity: the default action, with the entry exactly as the browser had it.

        `form`: the generation of the form it was typed into (-1: not known, a simulated key). An Enter typed
        before the clearing of a saved entry reached the browser is that entry's, already saved; the same
        order and quantity typed again afterwards is a new entry (two boxes of 25), and is saved again.
        """
        if not self.form.in_button.enabled and self.wc_id is not None:
            return  # a save is running: this Enter is the same entry's second press
        if form not in (-1, self.form_generation):
            return  # typed into a form that was saved and cleared since
        self.order.value, self.qty.value = order, qty
        await self.save(self.default_action)

    async def save(self, kind: str, *, start: bool = False) -> None:
        if self.wc_id is None:
            self.say(self.t.gettext(CHOOSE_WORK_CENTER), 'error')
            return
        if self.form.empty() and time.monotonic() - self.saved_at < REPEAT_TAP_S:
            return  # the second tap of a double tap, after the first one's save cleared the form
        clear_errors(self.form.fields)
        self.start_offer.hide()
        entry = (self.wc_id, self.order.value, self.qty.value, kind, self.disposition.key() if kind == 'OUT' else None)
        request_id = self.requests.id_for(entry)
        flow = self.disposition.movement_args() if kind == 'OUT' else {}
        self.form.set_ready(False)
        slow = asyncio.get_running_loop().call_later(SLOW_SAVE_S, self.say, self.t.gettext(STILL_SAVING), 'info')
        try:
            result: MovementResult = await self.ctx.call(
                record_movement,
                work_center_id=self.wc_id,
                order_number=self.order.value,
                quantity=self.qty.value,
                movement_type=kind,
                request_id=request_id,
                start_order=start,
                **flow,
            )
        except OutcomeUnknown:  # the entry keeps its request id: pressed again, it is booked once
            self.say(self.t.gettext(IN_DOUBT).format(kind=self.t.gettext(kind)), 'error', sound=True)
            return
        except NotSaved as exc:
            kept = self.t.gettext('Your entry is still here.')
            self.say(f'{refusal_text(exc, self.t)} {kept}', 'error', sound=True)
            return
        except PotrackError as exc:
            if not self.disposition.show_refusal(exc):
                show_refusal(exc, self.form.fields, self.t)
            self.say(refusal_text(exc, self.t), 'error', sound=True)
            if isinstance(exc, UnknownOrder) and exc.can_start:
                self.start_offer.offer(exc.order_number, kind)
            return
        else:
            # Cleared before the buttons come back, so that no tap can send this entry's form again.
            self.requests.forget()
            self.form.clear()
            self.saved_at = time.monotonic()
            self.form_generation += 1
            ui.run_javascript(form_generation_js(self.form_generation))
        finally:
            slow.cancel()
            self.form.set_ready(True)
        self.own_saves.append((result.work_center_id, result.order_number, time.monotonic()))
        self.say(saved_text(result, self.disposition.reason_label(result.reason_id), self.t), 'ok', sound=True)
        if self.operator is not None:
            self.operator.after_entry()
        self.disposition.reset()
        self.order.run_method('focus')
        if not self.card.apply(result):
            await self.card.show(result.order_number, self.wc_id)
        await self.recent.refresh()

    async def undo(self, movement_id: int) -> None:
        try:
            result = await self.ctx.call(reverse_movement, movement_id=movement_id, reason=UNDO_REASON)
        except PotrackError as exc:
            self.say(refusal_text(exc, self.t), 'error')
            await self.recent.refresh()
            return
        self.say(undone_text(result, self.t), 'ok')
        self.own_saves.append((result.work_center_id, result.order_number, time.monotonic()))
        if not self.card.apply(result):
            await self.card.show(result.order_number, self.wc_id)
        await self.recent.refresh()


def register() -> None:
    RecentFeed.reset()

    @ui.page('/kiosk')
    async def kiosk_page(request: Request) -> Response | None:
        ctx = await open_page(request)
        if isinstance(ctx, Response):
            return ctx
        t = translator_for(ctx)
        speak(t)
        try:
            work_centers = await kiosk_work_centers(ctx)
        except NotSaved as exc:
            with frame(ctx, t.gettext('Kiosk')):
                reload = t.gettext('Reload the page in a moment.')
                ui.label(f'{refusal_text(exc, t)} {reload}').classes('text-xl').mark('kiosk-unavailable')
            return None
        # The kiosk's own h1 names the chosen work center; without work centers the header's title is the h1.
        with frame(ctx, t.gettext('Kiosk'), title_is_heading=not work_centers):
            device = ctx.session_user.device
            bar = OperatorBar(ctx, device, request.cookies.get(DEVICE_COOKIE), browser_id(request)) if device else None
            if not work_centers:
                ui.label(no_work_centers_text(ctx)).classes('text-xl').mark('no-work-centers')
                return None
            kiosk = Kiosk(ctx, work_centers)
            kiosk.operator = bar
            live_bridge.subscribe(kiosk.on_change)
            if kiosk.wc_id is not None:
                await kiosk.recent.show(kiosk.wc_id)
                await kiosk.incoming.show(kiosk.wc_id)
        return None
