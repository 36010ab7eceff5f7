"""The message catalogue: every sign-in and kiosk text in English and Hindi (gettext through Babel).

Foundation (layer 0): pages translate what they show; a service's refusal carries its English text
(`PotrackError.message`) and, where it is marked for the catalogue, its template and values
(`PotrackError.template`, `.params`), which a page shows in its person's language (pages/forms.py
`refusal_text`). A page picks a `Translator` for its person's language (pages/language.py) and shows
`t.gettext('...')`; numbers and dates go through `t.number()` and `t.datetime()`.

The English text in the code is the message id; the Hindi lives in `locale/hi/LC_MESSAGES/potrack.po`,
read at first use (no compile step: it is compiled in memory). Texts with values are templates with
`{name}` placeholders, filled with `.format()` after translation, so a translation may reorder them.
`tests/test_i18n.py` fails when a marked text has no Hindi, or a translation's placeholders differ.

After changing texts, refresh the template `locale/potrack.pot`, merge it into the Hindi catalogue (new texts
arrive there with an empty msgstr), then write their Hindi; `tests/test_i18n.py` lists any left empty:

    pybabel extract -k N_ -k gettext -k ngettext:1,2 --no-default-keywords --sort-by-file \
        --project potrack -o potrack/locale/potrack.pot potrack
    pybabel update -i potrack/locale/potrack.pot -d potrack/locale -D potrack --no-fuzzy-matching
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

LANGUAGES: dict[str, str] = {'en': 'English', 'hi': 'हिन्दी'}  # code -> the language's own name
DEFAULT_LANGUAGE = 'en'
DOMAIN = 'potrack'
LOCALE_DIR = Path(__file__).parent / 'locale'
# Indian digit grouping (1,00,000) for both: the floor counts in lakhs, whatever language it reads.
LOCALES = {'en': 'en_IN', 'hi': 'hi_IN'}
HTML_LANG = {'en': 'en-US', 'hi': 'hi'}  # <html lang> and Quasar's own texts


def N_(message: str) -> str:
    """Marks a text for the catalogue where it is defined (a constant); translated where it is shown."""
    return message


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / 'LC_MESSAGES' / f'{DOMAIN}.po'


@cache
def _translations(language: str) -> NullTranslations:
    """The language's catalogue, compiled in memory once; English (the message ids) needs none."""
    path = po_path(language)
    if language == DEFAULT_LANGUAGE or not path.exists():
        return NullTranslations()
    with path.open('rb') as source:
        catalog = read_po(source, locale=language, domain=DOMAIN)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True)
class Translator:
    language: str

    @property
    def locale(self) -> str:
        return LOCALES.get(self.language, LOCALES[DEFAULT_LANGUAGE])

    @property
    def html_lang(self) -> str:
        return HTML_LANG.get(self.language, HTML_LANG[DEFAULT_LANGUAGE])

    def gettext(self, message: str) -> str:
        return _translations(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _translations(self.language).ngettext(singular, plural, n)

    def number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)

    def date(self, value: date) -> str:
        """A day as this language writes it: '07 Dec 2026', '07 दिस॰ 2026'."""
        return format_date(value, 'dd MMM y', locale=self.locale)

    def datetime(self, value: datetime, format: str = 'medium') -> str:
        """A date and time as this language writes it (the caller converts to the site's zone first).

        `format`: Babel's 'short', 'medium', 'long' or a pattern such as 'd MMM HH:mm'.
        """
        return format_datetime(value, format, locale=self.locale)


def translator(language: str | None) -> Translator:
    """The translator for `language` ('en', 'hi'); anything unknown falls back to English."""
    return Translator(language if language in LANGUAGES else DEFAULT_LANGUAGE)
