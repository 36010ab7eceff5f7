"""The page's language, to the browser and to the person: `<html lang>` and a one-tap switch.

A Hindi page must say so in its `<html lang>` (a screen reader's voice, the browser's hyphenation, Quasar's own
texts): the page's first response carries it, so it is set while the page is built, for this client only.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable

from nicegui import context, ui

from potrack.i18n import LANGUAGES, Translator


def speak(t: Translator) -> None:
    """The page being built says its language in `<html lang>` (and loads Quasar's texts for it).

    NiceGUI reads the language from the route's `ui.page`, shared by every client of the route: this client
    gets a copy of it with its own language.
    """
    client = context.client
    page = copy.copy(client.page)
    page.language = t.html_lang  # type: ignore[assignment]  # NiceGUI's Literal of language codes
    client.page = page


def other_language(t: Translator) -> str:
    """The language the switch offers: with two, the one not spoken now."""
    return next(code for code in LANGUAGES if code != t.language)


def language_toggle(t: Translator, choose: Callable[[str], Awaitable[None] | None]) -> ui.button:
    """A button named in the other language's own words ('हिन्दी' on an English page) that switches to it."""
    offered = other_language(t)
    button = ui.button(LANGUAGES[offered], icon='translate', on_click=lambda: choose(offered))
    button.props('flat no-caps').mark('language-toggle')
    button.props['lang'] = offered  # its own word, in its own language: read out in that voice
    label = t.gettext('Language')
    button.props['aria-label'] = f'{label}: {LANGUAGES[offered]}'
    return button
