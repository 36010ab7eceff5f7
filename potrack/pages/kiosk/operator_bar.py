"""The kiosk on an enrolled device: who is signed in (large), Switch operator, a badge scan that switches,
and the device's own ways (default action, sound, sign-out after each entry).

The badge-scan rule on the kiosk page: a scanner's burst of at least BADGE_MIN_LEN characters, each within
BADGE_GAP_MS of the one before, ended by Enter, typed while the focus is in no input field (not the order or
quantity, nor a search), is a badge: it signs its owner in at once, in place of the operator shown. Typed into
the order or quantity field it stays what it has always been, an order number or a quantity, so an order label
can never be taken for a badge. A tap on the operator's name (or anywhere outside a field) and a scan is how
an operator takes over a kiosk whose cursor sits in the order field.
"""

from __future__ import annotations

import contextlib

from nicegui import ui
from nicegui.events import GenericEventArguments

from potrack.accounts.device_view import DeviceView
from potrack.accounts.operator_codes import BADGE_MAX_LEN, BADGE_MIN_LEN
from potrack.accounts.operator_signin import OperatorSignInFailed, kiosk_work_center_ids, sign_in_by_badge
from potrack.accounts.sessions import end_session
from potrack.errors import PotrackError
from potrack.masters.catalog import WorkCenterInfo, list_work_centers
from potrack.pages.auth_routes import tickets
from potrack.pages.guard import PageContext, offload
from potrack.pages.kiosk.feedback import MUTED_KEY
from potrack.pages.language import translator_for

BADGE_EVENT = 'potrack_badge'
BADGE_GAP_MS = 60  # a scanner types a character every few ms; a person, far more slowly
ENTRY_SIGN_OUT_S = 2.5  # after a saved entry, long enough to read "Saved" before the sign-in comes back
DEVICE_SIGNIN = '/device'

# Constants only: no user text goes into these scripts.
_BADGE_LISTENER_JS = f"""(() => {{
  if (window.potrackBadgeListener) return;
  let buffer = '', last = 0;
  window.potrackBadgeListener = (e) => {{
    const target = e.target;
    if (target && target.matches && target.matches('input, textarea, select, [contenteditable="true"]')) {{
      buffer = '';
      return;
    }}
    const now = performance.now();
    if (now - last > {BADGE_GAP_MS}) buffer = '';
    last = now;
    if (e.key === 'Enter') {{
      if (buffer.length >= {BADGE_MIN_LEN}) {{ e.preventDefault(); emitEvent('{BADGE_EVENT}', buffer); }}
      buffer = '';
    }} else if (e.key.length === 1 && buffer.length < {BADGE_MAX_LEN}) {{
      buffer += e.key;
    }}
  }};
  document.addEventListener('keydown', window.potrackBadgeListener, true);
}})()"""
_DEVICE_MUTED_JS = "localStorage.setItem('{key}', '{value}')"


def device_sound(device: DeviceView) -> None:
    """The admin's choice for this device sets the kiosk's tones at every page load (feedback.MUTED_KEY)."""
    ui.run_javascript(_DEVICE_MUTED_JS.format(key=MUTED_KEY, value='1' if device.muted else '0'))


class OperatorBar:
    """The operator's name, large, the device's name, and Switch operator; listens for badge scans."""

    def __init__(self, ctx: PageContext, device: DeviceView, credential: str | None, browser: str | None) -> None:
        self.ctx, self.device, self.credential, self.browser = ctx, device, credential, browser
        t = translator_for(ctx)
        with ui.row().classes('w-full items-center gap-4 flex-nowrap').mark('operator-bar'):
            with ui.column().classes('gap-0 min-w-0 grow'):
                ui.label(ctx.session_user.user.display_name).classes(
                    'potrack-operator-name text-4xl font-bold truncate'
                ).mark('operator-name')
                ui.label(device.name).classes('potrack-device-name text-base opacity-80 truncate').mark('device-name')
            ui.button(t.gettext('Switch operator'), icon='switch_account', on_click=self.switch).props(
                'unelevated size=lg no-caps color=teal-8'
            ).classes('potrack-big-button').mark('switch-operator')
        self.message = ui.label('').classes('potrack-error text-base').props('role=alert').mark('badge-error')
        self.message.set_visibility(False)
        ui.on(BADGE_EVENT, self.badge_scanned)
        ui.run_javascript(_BADGE_LISTENER_JS)
        device_sound(device)

    async def leave(self, reason: str) -> None:
        """End this operator's session on the server, then show the device's sign-in."""
        # The database away: the session still ends at the idle limit; the sign-in page comes anyway.
        with contextlib.suppress(PotrackError):
            await offload(end_session, self.ctx.token, reason)
        ui.navigate.to(f'{DEVICE_SIGNIN}?reason={"entry" if reason == "entry saved" else "switch"}')

    async def switch(self) -> None:
        await self.leave('switch operator')

    def after_entry(self) -> None:
        """A saved entry on a device that signs out after each one: the sign-in comes back in a moment."""
        if self.device.sign_out_after == 'entry':
            ui.timer(ENTRY_SIGN_OUT_S, lambda: self.leave('entry saved'), once=True)

    async def badge_scanned(self, e: GenericEventArguments) -> None:
        """A badge scanned on the kiosk: its owner takes over at once (the old session ends at /auth/complete)."""
        badge = e.args if isinstance(e.args, str) else ''
        try:
            result = await offload(sign_in_by_badge, self.credential, badge)
        except OperatorSignInFailed as exc:
            self.message.set_text(translator_for(self.ctx).gettext(exc.message))
            self.message.set_visibility(True)
            return
        except PotrackError:
            ui.navigate.to(DEVICE_SIGNIN)
            return
        ui.navigate.to(f'/auth/complete?ticket={tickets.issue(result.token, "/kiosk", self.browser)}')


async def kiosk_work_centers(ctx: PageContext) -> list[WorkCenterInfo]:
    """The active work centers this kiosk shows: the user's, cut down to the device's pinned ones on a device."""
    work_centers = await ctx.call(list_work_centers, active_only=True)
    if ctx.session_user.device is None:
        return work_centers  # a password session: no device, nothing pinned (and no second read)
    scope = await ctx.call(kiosk_work_center_ids)
    return work_centers if scope is None else [wc for wc in work_centers if wc.id in scope]


def no_work_centers_text(ctx: PageContext) -> str:
    t = translator_for(ctx)
    if ctx.session_user.device is not None:
        return t.gettext(
            "None of this device's work centers is one your department sees. Switch operator, or ask an administrator."
        )
    return t.gettext('Your department has no active work centers. Ask an administrator.')
