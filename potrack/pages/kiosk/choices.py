"""One tap picks one of a few big buttons: what an OUT does, why, and where rework goes back to.

The chosen button is filled and carries a tick, the others are outlined with an empty circle, and each
says `aria-pressed`: the choice is never told by colour alone, and a screen reader hears it too.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence

from nicegui import ui

Key = Hashable
OnPick = Callable[[Key], Awaitable[None] | None]
# Chosen: white on teal-9 (6.6:1; still 4.8:1 under the lighter layer Quasar lays on a focused or hovered
# button, which took teal-8 down to 4.0:1). Not chosen: outlined in the theme's own text colour (no colour of
# its own), which keeps ≥ 4.5:1 on both themes' cards.
CHOSEN = {'icon': 'check_circle', 'color': 'teal-9', 'unelevated': True, 'aria-pressed': 'true'}
NOT_CHOSEN = {'icon': 'radio_button_unchecked', 'outline': True, 'aria-pressed': 'false'}


# A long label wraps beside its icon, not under it (and, in a list, from the left).
NO_WRAP = '[&_.q-btn\\_\\_content]:flex-nowrap'
# A few short choices side by side in one row, the icon above the word: three fit a portrait kiosk's form
# (about 95 px each), and the row takes one button's height, so IN and OUT stay on the screen.
BIG = 'flex-1 basis-0 min-w-0 min-h-[64px] px-1 text-lg leading-tight'
BIG_PROPS = 'no-caps stack'
# A list of longer choices, two to a row (a label wraps inside its button): 56 px high, ≥ 48 px a touch.
LIST = f'min-h-[56px] text-base leading-snug flex-1 min-w-[8.5rem] {NO_WRAP} [&_.block]:text-left'
LIST_PROPS = 'no-caps align=left'


class Choices:
    """A labelled group of buttons of which one (or, until a tap, none) is chosen."""

    def __init__(self, label: str, *, marker: str, on_pick: OnPick | None = None, size: str = BIG) -> None:
        self.marker = marker
        self.on_pick = on_pick
        self.size = size
        self.value: Key | None = None
        self.buttons: dict[Key, ui.button] = {}
        # The caption and the row side by side in the caller's column, without a column of their own: each
        # element costs a kiosk ~4 kB on the server (bench/kiosk_load.py, ≤ 1 MB a kiosk).
        self.caption = ui.label(label).classes('text-base font-bold')
        self.row = ui.row().classes('w-full gap-2' + (' flex-nowrap' if size == BIG else '')).mark(marker)
        self.row.props['role'] = 'group'
        self.row.props['aria-label'] = label

    def set_options(self, options: Sequence[tuple[Key, str]], value: Key | None = None) -> None:
        """Show these (key, text) choices, `value` chosen; texts are shown as text, never as markup."""
        self.row.clear()
        self.buttons = {}
        with self.row:
            for key, text in options:
                button = (
                    ui.button(text, on_click=lambda k=key: self.pick(k))
                    .props(BIG_PROPS if self.size == BIG else LIST_PROPS)
                    .classes(self.size)
                    .mark(f'{self.marker}-{key}')
                )
                self.buttons[key] = button
        self.choose(value if value in self.buttons else None)

    def choose(self, value: Key | None) -> None:
        """Mark `value` chosen (without calling on_pick)."""
        self.value = value
        for key, button in self.buttons.items():
            chosen = key == value
            for name in ('color', 'unelevated', 'outline'):
                button.props.pop(name, None)
            button.props.update(CHOSEN if chosen else NOT_CHOSEN)
            button.update()

    async def pick(self, value: Key) -> None:
        self.choose(value)
        if self.on_pick is not None:
            result = self.on_pick(value)
            if result is not None:
                await result

    def show(self, visible: bool) -> None:
        self.caption.set_visibility(visible)
        self.row.set_visibility(visible)
