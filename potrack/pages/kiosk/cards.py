"""The work-center cards and the page's heading: which work center this kiosk books at, said in words.

The chosen card is told apart by more than its colour: `aria-pressed` for a screen reader and a check
icon for the eye; the h1 names the work center, so that the one heading of the page says where you are.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from nicegui import ui
from nicegui.elements.mixins.text_element import TextElement

from potrack.i18n import Translator
from potrack.masters.catalog import WorkCenterInfo

CHOSEN_COLOR, OTHER_COLOR = 'teal-8', 'grey-8'  # white on teal-8: 5.3:1 (teal-7 was 4.3:1, below 4.5)


class Heading(TextElement):
    """The page's one h1; its role is also spelled out, as on the pages that use layout.heading."""

    def __init__(self, text: str) -> None:
        super().__init__(tag='h1', text=text)
        self.props.update(role='heading')
        self.props['aria-level'] = 1


class WorkCenterCards:
    """One big button per work center; `paint` marks the chosen one."""

    def __init__(
        self, on_choose: Callable[[int], Awaitable[None]], beside_heading: Callable[[], object], t: Translator
    ) -> None:
        self.on_choose = on_choose
        self.t = t
        with ui.row().classes('w-full items-center justify-between gap-2 no-wrap'):
            self.heading = Heading(t.gettext('Kiosk')).classes('potrack-kiosk-title').mark('kiosk-heading')
            with ui.row().classes('items-center gap-2 no-wrap'):
                beside_heading()
        self.row = ui.element('div').classes('potrack-kiosk-cards').mark('wc-cards')
        self.cards: dict[int, ui.button] = {}
        self.names: dict[int, str] = {}

    def build(self, work_centers: list[WorkCenterInfo]) -> None:
        self.row.clear()
        self.cards.clear()
        self.names = {wc.id: f'{wc.code} {wc.name}' for wc in work_centers}
        # Four elements a card: the chosen card's check is the button's own right icon (align=between puts it
        # at the far edge), not an icon, row and spacer of its own. Each element costs a kiosk ~6 kB on the
        # server, and 50 kiosks must stay within 1 MB each (bench/kiosk_load.py).
        with self.row:
            for wc in work_centers:
                card = (
                    ui.button(on_click=lambda i=wc.id: self.on_choose(i))
                    .props('no-caps unelevated align=between')
                    .classes('potrack-card text-left')
                    .mark(f'wc-{wc.code}')
                )
                with card, ui.column().classes('gap-0 items-start'):
                    ui.label(wc.code).classes('text-2xl font-bold')
                    ui.label(wc.name).classes('text-base')
                self.cards[wc.id] = card

    def paint(self, chosen: int | None) -> None:
        for wc_id, card in self.cards.items():
            pressed = wc_id == chosen
            card.props(f'color={CHOSEN_COLOR if pressed else OTHER_COLOR}')
            card.props['aria-pressed'] = 'true' if pressed else 'false'
            if pressed:
                card.props['icon-right'] = 'check_circle'
            else:
                card.props.pop('icon-right', None)
        kiosk = self.t.gettext('Kiosk')
        self.heading.set_text(f'{kiosk} — {self.names[chosen]}' if chosen in self.names else kiosk)
