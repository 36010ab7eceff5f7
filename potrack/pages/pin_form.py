"""The operator's own PIN on /account: the PIN they key on kiosk devices after picking their name."""

from __future__ import annotations

from nicegui import ui

from potrack.accounts.operator_codes import change_own_pin
from potrack.errors import PotrackError
from potrack.pages.forms import clear_errors, show_refusal
from potrack.pages.guard import PageContext
from potrack.pages.language import translator_for
from potrack.pages.layout import heading


def pin_form(ctx: PageContext) -> None:
    """Current PIN (or, with none yet, the password), the new PIN twice; refusals next to their field."""
    t = translator_for(ctx)
    has_pin = ctx.session_user.user.has_pin
    heading(t.gettext('Change PIN') if has_pin else t.gettext('Choose a PIN'), 2).classes('text-xl font-bold')
    ui.label(t.gettext('4 to 6 digits, for signing in on kiosk devices: pick your name there and key it.')).classes(
        'text-sm opacity-70'
    )
    current = t.gettext('Current PIN') if has_pin else t.gettext('Your password')
    fields = {
        'current': ui.input(current, password=True).mark('pin-current'),
        'pin': ui.input(t.gettext('New PIN'), password=True).mark('pin-new'),
        'repeat': ui.input(t.gettext('New PIN again'), password=True).mark('pin-repeat'),
    }
    for name, field in fields.items():
        field.props('outlined autocomplete=off').classes('w-full')
        if name != 'current' or has_pin:
            field.props('inputmode=numeric maxlength=6')

    async def save() -> None:
        clear_errors(fields)
        try:
            info = await ctx.call(
                change_own_pin, current=fields['current'].value, new=fields['pin'].value, repeat=fields['repeat'].value
            )
        except PotrackError as exc:
            show_refusal(exc, fields)
            return
        for field in fields.values():
            field.value = ''
        ui.notify(t.gettext('PIN saved.'), type='positive')
        fields['current'].label = t.gettext('Current PIN') if info.has_pin else current

    fields['repeat'].on('keydown.enter', save)
    ui.button(t.gettext('Save PIN'), on_click=save).props('size=lg color=teal-8 unelevated').classes('w-full').mark(
        'save-pin'
    )
