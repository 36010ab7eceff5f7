"""An on-screen numeric keypad and quick steps for a quantity field on a touch screen."""

from __future__ import annotations

from nicegui import ui

from potrack.common.validation import QUANTITY_SUM_MAX_LEN
from potrack.config import QUANTITY_MAX
from potrack.i18n import N_, Translator

QUICK_STEPS = (1, 5, 10, 50, 100)
# The keys whose sign is not a word a screen reader can say.
KEY_NAMES = {'⌫': N_('Delete the last digit'), 'C': N_('Clear the quantity'), '+': N_('Plus: add another batch')}


def _as_int(text: str | None) -> int:
    digits = ''.join(c for c in (text or '') if c.isdigit())
    return int(digits) if digits else 0


def keypad(field: ui.input, t: Translator) -> None:
    """Digits, + (a sum of batches), backspace and clear that edit `field`; the field stays the single source
    of the value."""

    def press(key: str) -> None:
        text = str(field.value or '')
        if key == '⌫':
            text = text[:-1]
        elif key == 'C':
            text = ''
        elif key == '+':
            if text and not text.endswith('+') and len(text) < QUANTITY_SUM_MAX_LEN:
                text += '+'
        elif '+' in text:  # a number after a +: the sum's own limit, checked in full when saved
            if len(text) < QUANTITY_SUM_MAX_LEN:
                text += key
        elif len(text) < len(str(QUANTITY_MAX)):
            text = (text + key).lstrip('0') or '0'
        field.value = text

    with ui.grid(columns=4).classes('w-full gap-2 potrack-keypad'):
        for key in ['7', '8', '9', '⌫', '4', '5', '6', 'C', '1', '2', '3', '+', '0']:
            button = (
                ui.button(key, on_click=lambda k=key: press(k))
                .props('unelevated color=grey-8 no-caps')
                .classes('potrack-key w-full' + (' col-span-4' if key == '0' else ''))
                .mark(f'key-{key}')
            )
            if key in KEY_NAMES:
                button.props['aria-label'] = t.gettext(KEY_NAMES[key])


def quick_steps(field: ui.input) -> None:
    """Buttons that add a common batch size to the quantity."""

    def add(step: int) -> None:
        text = str(field.value or '').strip()
        if '+' in text:  # a sum being keyed: the batch joins it, so that the total shown stays the sum of its parts
            field.value = f'{text}{step}' if text.endswith('+') else f'{text}+{step}'
        else:
            field.value = str(min(_as_int(text) + step, QUANTITY_MAX))

    # A grid, not a row: five equal cells that shrink with the column, so "+100" never leaves its card.
    with ui.grid(columns=len(QUICK_STEPS)).classes('w-full gap-2'):
        for step in QUICK_STEPS:
            ui.button(f'+{step}', on_click=lambda s=step: add(s)).props('outline no-caps padding="xs"').classes(
                'min-w-0 potrack-key'
            ).mark(f'step-{step}')
