"""The account page's language choice: the sign-in and kiosk texts in English or Hindi, or the kiosk's own."""

from __future__ import annotations

from nicegui import ui
from nicegui.events import ValueChangeEventArguments

from potrack.accounts.language import set_language
from potrack.errors import PotrackError
from potrack.i18n import LANGUAGES
from potrack.pages.forms import show_refusal
from potrack.pages.guard import PageContext
from potrack.pages.language import translator_for
from potrack.pages.layout import heading

DEVICE_DEFAULT = ''  # the toggle's key for "no choice of my own" (stored as NULL)


def language_form(ctx: PageContext) -> None:
    """One tap saves the choice; the kiosk speaks it from its next page load."""
    t = translator_for(ctx)
    heading(t.gettext('Language'), 2).classes('text-xl font-bold')
    ui.label(
        t.gettext(
            'The language of the kiosk and its messages. Without a choice of your own, a kiosk device speaks '
            'its own language, else English.'
        )
    ).classes('text-sm opacity-70')
    # Each language in its own words: whoever cannot read this page's language still finds theirs.
    options = {DEVICE_DEFAULT: t.gettext('Device default'), **LANGUAGES}
    current = ctx.session_user.user.language or DEVICE_DEFAULT

    async def save(e: ValueChangeEventArguments) -> None:
        try:
            await ctx.call(set_language, language=e.value or None)
        except PotrackError as exc:
            show_refusal(exc, t=t)
            return
        ui.notify(t.gettext('Language saved.'), type='positive')

    toggle = ui.toggle(options, value=current, on_change=save).props('no-caps').mark('language')
    toggle.props['aria-label'] = t.gettext('Language')
