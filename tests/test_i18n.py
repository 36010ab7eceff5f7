"""English and Hindi: every marked text has its Hindi, translations fill the same values, and numbers and dates
are written the language's way; an operator who reads Hindi sees the sign-in and the kiosk in Hindi."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from string import Formatter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract, extract_from_dir
from babel.messages.pofile import read_po
from nicegui import ui
from nicegui.testing import User
from sqlmodel import select

import potrack
from potrack.accounts.language import set_language
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import User as UserRow
from potrack.errors import InsufficientBalance, InvalidInput, PotrackError
from potrack.i18n import DEFAULT_LANGUAGE, LANGUAGES, N_, po_path, translator
from potrack.pages.forms import refusal_text
from tests.conftest import TEST_PASSWORD
from tests.ui_helpers import eventually_equal, field_error, handled, see, sign_in

KEYWORDS = {'gettext': None, 'ngettext': (1, 2), 'N_': None}
PACKAGE = Path(potrack.__file__).parent
# The person-facing rooms the issue names: each must have texts in the catalogue, so that the check below
# cannot pass by extracting nothing from them.
SIGNIN_AND_KIOSK = ('pages/signin.py', 'accounts/signin.py', 'pages/kiosk/')

MsgId = str | tuple[str, ...]


def extracted() -> dict[MsgId, list[str]]:
    """Every text marked with gettext, ngettext or N_ in the package, with where it is."""
    found: dict[MsgId, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        PACKAGE, method_map=[('**.py', 'python')], keywords=KEYWORDS, comment_tags=(), strip_comment_tags=True
    ):
        found.setdefault(message, []).append(f'{filename}:{lineno}')
    return found


def hindi() -> Catalog:
    with po_path('hi').open('rb') as source:
        return read_po(source, locale='hi')


def missing_hindi(messages: Iterable[MsgId], catalog: Catalog) -> list[MsgId]:
    """The texts that have no Hindi: not in the catalogue, or with an empty (or fuzzy) msgstr."""
    missing: list[MsgId] = []
    for msgid in messages:
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        entry = catalog.get(key)
        strings = entry.string if entry is not None else ''
        filled = all(strings) if isinstance(strings, tuple) else bool(strings)
        if entry is None or entry.fuzzy or not filled:
            missing.append(msgid)
    return missing


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


def test_every_marked_text_has_its_hindi() -> None:
    messages = extracted()
    for room in SIGNIN_AND_KIOSK:
        assert any(room in where for places in messages.values() for where in places), f'no texts found in {room}'
    missing = missing_hindi(messages, hindi())
    assert not missing, 'Texts without Hindi in potrack/locale/hi/LC_MESSAGES/potrack.po:\n' + '\n'.join(
        f'  {msgid!r} ({", ".join(messages[msgid])})' for msgid in missing
    )


def test_the_check_finds_a_text_without_hindi() -> None:
    source = io.BytesIO(b"t.gettext('Saved: {qty} of {order}.')\nN_('A text nobody translated.')\n")
    messages = [message for _, message, _, _ in extract('python', source, keywords=KEYWORDS)]
    catalog = Catalog(locale='hi')
    catalog.add('Saved: {qty} of {order}.', '{order} के {qty} सेव हुए।')
    assert missing_hindi(messages, catalog) == ['A text nobody translated.']
    catalog.add('A text nobody translated.', '')
    assert missing_hindi(messages, catalog) == ['A text nobody translated.']


def test_every_translation_fills_the_same_values() -> None:
    """A Hindi text with a placeholder the English lacks (or without one it has) would raise or lose a value."""
    wrong = []
    for entry in hindi():
        if not entry.id:
            continue
        ids = entry.id if isinstance(entry.id, tuple) else (entry.id,)
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        expected = set().union(*(fields(i) for i in ids))
        for string in strings:
            if string and fields(string) != expected:
                wrong.append(f'{ids[0]!r}: {sorted(fields(string))} instead of {sorted(expected)}')
            elif string:
                string.format(**dict.fromkeys(expected, 'x'))  # a stray brace raises here
    assert not wrong, '\n'.join(wrong)


def test_hindi_texts_are_hindi() -> None:
    t = translator('hi')
    assert t.gettext('Choose your work center first.') == 'पहले अपना वर्क सेंटर चुनें।'
    assert t.ngettext('{n} piece', '{n} pieces', 1).format(n=1) == '1 पीस'
    assert t.ngettext('{n} order', '{n} orders', 3).format(n=3) == '3 ऑर्डर'
    assert translator('en').gettext('Choose your work center first.') == 'Choose your work center first.'


@pytest.mark.parametrize('language', ['fr', '', None, 'hi_IN', 'xx'])
def test_an_unknown_language_is_english(language: str | None) -> None:
    t = translator(language)
    assert t.language == DEFAULT_LANGUAGE
    assert t.gettext('Choose your work center first.') == 'Choose your work center first.'
    assert t.ngettext('{n} piece', '{n} pieces', 2) == '{n} pieces'


def test_numbers_and_dates_are_written_the_languages_way() -> None:
    en, hi = translator('en'), translator('hi')
    assert en.number(1234567) == '12,34,567'  # lakhs and crores: how the floor counts, in either language
    assert hi.number(1234567) == '12,34,567'
    assert en.number(40) == hi.number(40) == '40'
    when = datetime(2026, 12, 7, 14, 5)
    # The month's name is the language's (its abbreviation's dot is CLDR's, whichever Babel is installed).
    assert en.datetime(when, 'dd MMM HH:mm') == '07 Dec 14:05'
    assert hi.datetime(when, 'dd MMM HH:mm').startswith('07 दिस')
    assert 'Dec' in en.datetime(when) and 'दिस' in hi.datetime(when)
    assert en.date(date(2026, 1, 9)) == '09 Jan 2026'
    assert hi.date(date(2026, 1, 9)).startswith('09 जन')


def test_a_refusal_keeps_its_english_and_is_shown_in_hindi() -> None:
    exc = InsufficientBalance(
        N_('Only {available} pieces of {order} are at {code}; you tried to send {qty}.'),
        available=1500,
        requested=2000,
        params={'available': 1500, 'order': 'PO-7', 'code': 'WC001', 'qty': 2000},
    )
    assert exc.message == 'Only 1500 pieces of PO-7 are at WC001; you tried to send 2000.'  # the API's, unchanged
    assert str(exc) == exc.message
    assert refusal_text(exc, translator('en')) == exc.message
    assert refusal_text(exc, translator('hi')) == 'WC001 पर PO-7 के सिर्फ़ 1,500 पीस हैं; आपने 2,000 भेजने की कोशिश की।'
    plain = PotrackError('Not in the catalogue {yet}.')  # no params: its message as written, braces and all
    assert (plain.template, plain.message) == (None, 'Not in the catalogue {yet}.')
    assert refusal_text(plain, translator('hi')) == plain.message


def test_a_language_outside_the_list_is_refused(sqlite_db: Database, admin: Actor) -> None:
    with pytest.raises(InvalidInput) as err:
        set_language(admin, 'fr', db=sqlite_db)
    assert err.value.field == 'language'
    assert set_language(admin, 'hi', db=sqlite_db).language == 'hi'
    assert set_language(admin, None, db=sqlite_db).language is None
    assert set(LANGUAGES) == {'en', 'hi'}


# --- the pages ---------------------------------------------------------------------------------------------------


def text_of(user: User, marker: str) -> str:
    return user.find(marker=marker).elements.pop().text  # type: ignore[attr-defined]


async def enter(user: User, order: str, qty: str, button: str) -> None:
    async with handled():
        user.find(marker='order').clear().type(order).trigger('keydown.enter')
        user.find(marker='quantity').clear().type(qty)
        user.find(marker=button).click()


async def open_kiosk_as(user: User, make_user: Callable[..., Actor], name: str, language: str | None) -> Actor:
    actor = make_user(name, 'Production')
    if language:
        set_language(actor, language)
    await sign_in(user, name, TEST_PASSWORD, '/kiosk')
    await see(user, marker='wc-cards')
    async with handled():
        user.find(marker='wc-WC001').click()
    return actor


async def test_an_operator_who_reads_hindi_sees_the_kiosk_in_hindi(
    user: User, sqlite_db: Database, make_user: Callable[..., Actor]
) -> None:
    await open_kiosk_as(user, make_user, 'meena', 'hi')
    assert user.client.page.resolve_language() == 'hi'  # <html lang="hi">
    assert text_of(user, 'kiosk-heading').startswith('कियोस्क — WC001')
    assert text_of(user, 'nav-kiosk') == 'कियोस्क'  # the header too; its marker stays the English name
    assert user.find(marker='in').elements.pop().text == 'आवक IN'  # type: ignore[attr-defined]
    assert user.find(marker='out').elements.pop().text == 'जावक OUT'  # type: ignore[attr-defined]
    order_field = user.find(marker='order').elements.pop()
    assert isinstance(order_field, ui.input)
    assert order_field.props['label'] == 'ऑर्डर नंबर'
    await enter(user, 'PO-7', '1500', 'in')
    assert text_of(user, 'status') == 'सेव हुआ: PO-7 के 1,500 पीस WC001 पर आए। यहाँ अब बाकी: 1,500।'
    await enter(user, 'PO-7', '2000', 'out')
    refusal = 'WC001 पर PO-7 के सिर्फ़ 1,500 पीस हैं; आपने 2,000 भेजने की कोशिश की।'
    assert text_of(user, 'status') == refusal
    assert field_error(user, 'quantity') == refusal


async def test_an_operator_without_a_choice_sees_english_and_can_switch(
    user: User, sqlite_db: Database, make_user: Callable[..., Actor]
) -> None:
    await open_kiosk_as(user, make_user, 'ravi', None)
    assert user.client.page.resolve_language() == 'en-US'
    assert user.find(marker='in').elements.pop().text == 'IN'  # type: ignore[attr-defined]
    toggle = user.find(marker='language-toggle').elements.pop()
    assert toggle.text == 'हिन्दी'  # type: ignore[attr-defined]  # the other language, in its own words
    async with handled():
        user.find(marker='language-toggle').click()

    await eventually_equal(lambda: language_of('ravi', sqlite_db), 'hi', what="ravi's language, saved by the switch")


def language_of(username: str, db: Database) -> str | None:
    with db.read() as session:
        return session.exec(select(UserRow.language).where(UserRow.username == username)).one()


async def test_the_account_page_keeps_the_language_chosen(
    user: User, sqlite_db: Database, make_user: Callable[..., Actor]
) -> None:
    make_user('asha', 'Production')
    await sign_in(user, 'asha', TEST_PASSWORD, '/account')
    await see(user, marker='language')
    toggle = user.find(marker='language').elements.pop()
    assert isinstance(toggle, ui.toggle)
    assert toggle.value == ''  # no choice of her own: the kiosk device's language, else English
    async with handled():
        toggle.value = 'hi'
    await eventually_equal(lambda: language_of('asha', sqlite_db), 'hi', what='the language chosen on /account')
    async with handled():
        toggle.value = ''
    await eventually_equal(lambda: language_of('asha', sqlite_db), None, what='back to the device default')


async def test_the_signin_page_speaks_the_language_chosen_in_this_browser(
    user: User, sqlite_db: Database, make_user: Callable[..., Actor]
) -> None:
    make_user('sita', 'Production')
    await user.open('/signin?lang=hi&reason=idle')
    assert user.client.page.resolve_language() == 'hi'
    assert text_of(user, 'signin-reason') == 'कुछ देर कोई गतिविधि न होने पर आपको साइन आउट कर दिया गया।'
    await user.open('/signin')  # the choice stays with this browser
    await see(user, 'यूज़र नेम')
    user.find(marker='username').type('sita')
    user.find(marker='password').type('not her password')
    async with handled():
        user.find(marker='signin-button').click()
    await eventually_equal(
        lambda: text_of(user, 'signin-error'),
        'यूज़र नेम या पासवर्ड गलत है, या बहुत बार कोशिश हुई: थोड़ा रुककर फिर कोशिश करें।',
        what='the refusal in Hindi',
    )
    await user.open('/signin?lang=en')
    assert user.client.page.resolve_language() == 'en-US'
    await see(user, 'User name')
