"""The message catalogue: every sign-in and kiosk text in English and Hindi (gettext through Babel).

Foundation (layer 0): pages translate what they show; a service's refusal carries its English text
(`PotrackError.message`). A page picks a `Translator` for its person's language (pages/language.py) and
shows `t.gettext('...')`; numbers and dates go through `t.number()` and `t.datetime()`.

STUB (2026-12-07): the API below is fixed; the catalogue behind it is being filled in (issue 16, item 7).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

LANGUAGES: dict[str, str] = {'en': 'English', 'hi': 'हिन्दी'}  # code -> the language's own name
DEFAULT_LANGUAGE = 'en'


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined (a constant); translated where it is shown."""
    return message


@dataclass(frozen=True)
class Translator:
    language: str

    def gettext(self, message: str) -> str:
        return message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return singular if n == 1 else plural

    def number(self, value: int | float) -> str:
        return f'{value:,}'

    def datetime(self, value: datetime) -> str:
        return value.strftime('%d %b %Y %H:%M')


def translator(language: str | None) -> Translator:
    """The translator for `language` ('en', 'hi'); anything unknown falls back to English."""
    return Translator(language if language in LANGUAGES else DEFAULT_LANGUAGE)
