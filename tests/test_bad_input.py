"""Whatever is typed, scanned or posted, the ledger either records it cleanly or refuses it politely.

Generated order numbers (spaces, unicode, control characters, 10 kB strings, realistic codes),
quantities (zero, negative, huge, floats, decimals, text, None, bools) and movement types go through
`record_movement`: the result is a stored, normalized movement, or a PotrackError with a message fit to
show; never a crash, never a half-written row.

Which is which is not left to the code under test: `expected_order`, `expected_quantity` and
`expected_type` below say, from the rules as a person reads them, what each input must become or the
exact refusal it must get. Valid input that is refused fails a test as surely as invalid input that is kept.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from potrack.common.actors import Actor
from potrack.common.validation import normalize_order_number, parse_movement_type, parse_quantity
from potrack.config import ORDER_NUMBER_MAX_LEN, QUANTITY_MAX
from potrack.db import Database
from potrack.errors import InsufficientBalance, InvalidInput, PotrackError
from potrack.ledger.integrity import check_consistency
from potrack.ledger.writer import record_movement

STORED_ORDER_RE = re.compile(rf'[A-Z0-9\-_/.]{{1,{ORDER_NUMBER_MAX_LEN}}}')
CONTROL_RE = re.compile(r'[\x00-\x1f\x7f-\x9f]')
MESSAGE_MAX = 200
DB_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
UNIT_SETTINGS = settings(max_examples=250, deadline=None)


@dataclass(frozen=True)
class Refused:
    """The refusal a person must see, word for word, next to the field it names."""

    message: str
    field: str


# --- The rules, as a person reads them --------------------------------------------------------------------


def quoted(text: str) -> str:
    """Typed text as a message quotes it back: control characters as '?', at most 30 characters."""
    text = CONTROL_RE.sub('?', text)
    return text if len(text) <= 30 else text[:29] + '…'


def order_charset_refusal(typed: str) -> Refused:
    return Refused(
        f'Order number "{quoted(typed)}" may contain only letters A–Z, digits and - _ / . (no spaces), '
        'and must start with a letter or digit.',
        'order_number',
    )


def expected_order(raw: Any) -> str | Refused:
    """An order number: text, trimmed, full-width forms folded (NFKC), upper-cased; then 1 to 40 of A-Z,
    0-9 and - _ / . starting with a letter or digit."""
    if not isinstance(raw, str):
        return Refused('Enter an order number.', 'order_number')
    text = unicodedata.normalize('NFKC', raw).strip().upper()
    if not text:
        return Refused('Enter an order number.', 'order_number')
    if len(text) > 40:
        return Refused(f'An order number has at most 40 characters; this one has {len(text)}.', 'order_number')
    if not (text[0] in ALNUM and set(text) <= ALNUM | set('-_/.')):
        return order_charset_refusal(text)
    return text


ALNUM = set('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789')
TOO_LARGE_TO_QUOTE = 10**15  # a number this long is not repeated back in a message


def _range_checked(value: int) -> int | Refused:
    quote = abs(value) < TOO_LARGE_TO_QUOTE
    if value < 1:
        return Refused('The quantity must be at least 1' + (f'; {value} was entered.' if quote else '.'), 'quantity')
    if value > 1_000_000:
        return Refused(
            'At most 1,000,000 pieces can be recorded at once' + (f'; {value:,} was entered.' if quote else '.'),
            'quantity',
        )
    return value


def _is_whole(number: float | Decimal) -> bool:
    if isinstance(number, Decimal):
        return number.is_finite() and number == number.to_integral_value()
    return math.isfinite(number) and number == math.floor(number)


def expected_quantity(raw: Any) -> int | Refused:
    """A whole number of pieces from 1 to 1,000,000: an int, a float or Decimal without a fraction, or
    text of up to 12 ASCII digits (full-width folded) with an optional sign, commas or underscores, or a sum
    of such numbers ("17+13+21", see _expected_sum)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | Decimal | str):
        return Refused('Enter the number of pieces.', 'quantity')
    if isinstance(raw, int):
        return _range_checked(raw)
    if isinstance(raw, float | Decimal):
        if not _is_whole(raw):
            return Refused('The quantity must be a whole number of pieces.', 'quantity')
        if abs(raw) >= TOO_LARGE_TO_QUOTE:  # int() of Decimal('1e999999') would run for minutes
            return _range_checked(TOO_LARGE_TO_QUOTE if raw > 0 else -TOO_LARGE_TO_QUOTE)
        return _range_checked(int(raw))
    text = unicodedata.normalize('NFKC', raw).strip().replace(',', '').replace('_', '')
    if not text:
        return Refused('Enter the number of pieces.', 'quantity')
    if text[0] in '0123456789' and '+' in text:
        return _expected_sum(raw, text)
    digits = text[1:] if text[0] in '+-' else text
    if len(text) > 12 or not digits or not set(digits) <= set('0123456789'):
        return Refused(f'The quantity must be a whole number of pieces, not "{quoted(raw)}".', 'quantity')
    return _range_checked(int(text))


def _expected_sum(raw: str, text: str) -> int | Refused:
    """A sum of batches as the kiosk keys it ("17+13+21", spaces around each +): whole numbers of at least 1,
    the total within the usual bounds."""
    numbers = [part.strip() for part in text.split('+')]
    if len(text) > 60 or not all(n and set(n) <= set('0123456789') for n in numbers):
        return Refused(
            f'A sum of pieces is whole numbers joined by +, like 17+13+21; "{quoted(raw)}" is not.', 'quantity'
        )
    if any(len(n) > 12 for n in numbers):
        return Refused(f'The numbers in "{quoted(raw)}" are too long to be counts of pieces.', 'quantity')
    if any(int(n) == 0 for n in numbers):
        return Refused(f'Each number in a sum must be at least 1; "{quoted(raw)}" has a 0.', 'quantity')
    return _range_checked(sum(int(n) for n in numbers))


def expected_type(raw: Any) -> str | Refused:
    """IN or OUT, in any case, with spaces around."""
    text = raw.strip().upper() if isinstance(raw, str) else ''
    return text if text in ('IN', 'OUT') else Refused('Choose IN or OUT.', 'movement_type')


def assert_outcome(fn: Any, raw: Any, expected: Any) -> None:
    """`fn(raw)` gives `expected`, or refuses with exactly the expected message and field."""
    if isinstance(expected, Refused):
        with pytest.raises(InvalidInput) as err:
            fn(raw)
        assert (err.value.message, err.value.field) == (expected.message, expected.field)
        _refused_message_ok(err.value)
    else:
        value = fn(raw)
        assert (type(value), value) == (type(expected), expected)


# --- Inputs ------------------------------------------------------------------------------------------------

ORDER_CASES: list[tuple[str, str | Refused]] = [
    ('PO-2026-0012', 'PO-2026-0012'),
    ('po-2026-0012', 'PO-2026-0012'),
    (' PO-2026-0012\r\n', 'PO-2026-0012'),
    ('\tWO/12.3_A\n', 'WO/12.3_A'),
    ('ｐｏ－１２', 'PO-12'),  # full-width, as some scanners send it
    ('１２３４５', '12345'),
    ('A' * ORDER_NUMBER_MAX_LEN, 'A' * 40),
    (
        'A' * (ORDER_NUMBER_MAX_LEN + 1),
        Refused('An order number has at most 40 characters; this one has 41.', 'order_number'),
    ),
    ('ß' * 20, 'SS' * 20),  # upper-cases to 40 characters
    ('ß' * 21, Refused('An order number has at most 40 characters; this one has 42.', 'order_number')),
    ('po-ı', 'PO-I'),  # dotless i upper-cases to I
    ('PO 12', order_charset_refusal('PO 12')),
    ('PO\u300012', order_charset_refusal('PO 12')),  # ideographic space, NFKC turns it into a plain one
    ('PO-12\x00', order_charset_refusal('PO-12?')),
    ('PO-\x1b[31m12', order_charset_refusal('PO-?[31M12')),
    ('-PO-12', order_charset_refusal('-PO-12')),
    ('.', order_charset_refusal('.')),
    ('', Refused('Enter an order number.', 'order_number')),
    ('   ', Refused('Enter an order number.', 'order_number')),
    ('\r\n', Refused('Enter an order number.', 'order_number')),
    ('PO-12;DROP TABLE order_balance', order_charset_refusal('PO-12;DROP TABLE ORDER_BALANCE')),
    ("PO-12' OR '1'='1", order_charset_refusal("PO-12' OR '1'='1")),
    ('PO-12%', order_charset_refusal('PO-12%')),
    ('PO-12\u200b', order_charset_refusal('PO-12\u200b')),  # zero-width space
    ('ＰＯ－１２／Ａ．１', 'PO-12/A.1'),
    ('Ⅻ-7', 'XII-7'),  # roman numeral twelve: NFKC makes it XII
]
REALISTIC_ORDERS = [raw for raw, _ in ORDER_CASES]
ORDER_ALPHABET = [*'PO-12/._ poａ１ß\t\r\n\x00\x1b\x7f\x85\u3000\u200bé', 'İ', 'ﬀ', 'Ⅻ', '²', '\u2028']

order_numbers = st.one_of(
    st.sampled_from(REALISTIC_ORDERS),
    st.from_regex(r'[A-Za-z0-9][A-Za-z0-9\-_/.]{0,41}', fullmatch=True),
    st.from_regex(r'\s{0,3}[a-zA-Z0-9]{1,4}[-/. _]?[0-9]{1,8}\s{0,3}', fullmatch=True),
    st.text(alphabet=ORDER_ALPHABET, max_size=45),
    st.text(max_size=50),
    st.builds(lambda ch, n: ch * n, st.sampled_from(['A', '9', ' ', 'é', '\x00', 'ａ']), st.integers(9_000, 11_000)),
    st.builds(lambda n: 'PO-' + 'x' * n + ' ', st.integers(9_990, 10_010)),
    st.sampled_from([None, 12345, 12.5, b'PO-1', ['PO-1'], True]),
)
AT_LEAST_1 = 'The quantity must be at least 1'
AT_MOST = 'At most 1,000,000 pieces can be recorded at once'
WHOLE = 'The quantity must be a whole number of pieces.'
NO_PIECES = Refused('Enter the number of pieces.', 'quantity')


def _q(message: str) -> Refused:
    return Refused(message, 'quantity')


def _not_whole(typed: str) -> Refused:
    return _q(f'The quantity must be a whole number of pieces, not "{typed}".')


QUANTITY_CASES: list[tuple[Any, int | Refused]] = [
    (0, _q(f'{AT_LEAST_1}; 0 was entered.')),
    (-1, _q(f'{AT_LEAST_1}; -1 was entered.')),
    (1, 1),
    (20, 20),
    (QUANTITY_MAX, 1_000_000),
    (QUANTITY_MAX + 1, _q(f'{AT_MOST}; 1,000,001 was entered.')),
    (10**12, _q(f'{AT_MOST}; 1,000,000,000,000 was entered.')),
    (10**5000, _q(f'{AT_MOST}.')),  # beyond Python's int-to-text limit: not quoted back
    (-(10**5000), _q(f'{AT_LEAST_1}.')),
    (2.5, _q(WHOLE)),
    (3.0, 3),
    (-0.0, _q(f'{AT_LEAST_1}; 0 was entered.')),
    (1e300, _q(f'{AT_MOST}.')),
    (float('nan'), _q(WHOLE)),
    (float('inf'), _q(WHOLE)),
    (Decimal('7'), 7),
    (Decimal('7.000'), 7),
    (Decimal('7.5'), _q(WHOLE)),
    (Decimal('-7'), _q(f'{AT_LEAST_1}; -7 was entered.')),
    (Decimal('NaN'), _q(WHOLE)),
    (Decimal('sNaN'), _q(WHOLE)),
    (Decimal('Infinity'), _q(WHOLE)),
    (Decimal('1e999999'), _q(f'{AT_MOST}.')),  # converting this to int would take minutes
    (Decimal('-1e999999'), _q(f'{AT_LEAST_1}.')),
    (Decimal('1e-999999'), _q(WHOLE)),
    ('12', 12),
    (' 12 ', 12),
    ('\t12\r\n', 12),
    ('+12', 12),
    ('-12', _q(f'{AT_LEAST_1}; -12 was entered.')),
    ('+-5', _not_whole('+-5')),
    ('--5', _not_whole('--5')),
    ('++5', _not_whole('++5')),
    ('1 2', _not_whole('1 2')),
    ('1,000', 1000),
    ('1_000', 1000),
    ('１２', 12),
    ('١٢', _not_whole('١٢')),  # Arabic-Indic digits: not folded to 0-9
    ('²', 2),  # NFKC folds a superscript two to 2, as it folds full-width digits
    ('0x10', _not_whole('0x10')),
    ('1e3', _not_whole('1e3')),
    ('12.0', _not_whole('12.0')),
    ('12.5', _not_whole('12.5')),
    ('nan', _not_whole('nan')),
    ('inf', _not_whole('inf')),
    ('', NO_PIECES),
    ('   ', NO_PIECES),
    ('9' * 13, _not_whole('9' * 13)),
    ('0' * 12 + '1', _not_whole('0' * 12 + '1')),  # more than 12 characters of text
    ('0' * 11 + '1', 1),
    (None, NO_PIECES),
    (True, NO_PIECES),
    (False, NO_PIECES),
    ([], NO_PIECES),
    (Fraction(3, 1), NO_PIECES),
    (1 + 0j, NO_PIECES),
]
SAMPLED_QUANTITIES = [raw for raw, _ in QUANTITY_CASES]

quantities = st.one_of(
    st.integers(1, 25),
    st.integers(1, 25),
    st.sampled_from(SAMPLED_QUANTITIES),
    st.integers(),
    st.floats(),
    st.decimals(),
    st.integers(-100, 10**7).map(str),
    st.tuples(st.sampled_from(['', ' ', '\t', '\u3000']), st.integers(-5, 50), st.sampled_from(['', ' ', '\n'])).map(
        lambda t: f'{t[0]}{t[1]}{t[2]}'
    ),
    st.text(alphabet='0123456789 +-.,_e١２', max_size=14),
)
movement_types = st.one_of(
    st.sampled_from(['IN', 'IN', 'in', ' In\n', 'OUT', 'out', ' OUT\t']),
    st.sampled_from(['SIDEWAYS', '', ' ', 'I N', 'ＩＮ', 'IN\x00', None, 1, b'IN', ['IN']]),
    st.text(max_size=5),
)

# About half the cases look like what a kiosk really sends, so plenty get recorded (and OUTs can succeed).
plausible_cases = st.tuples(
    st.one_of(st.sampled_from(REALISTIC_ORDERS[:6]), st.from_regex(r'\s?[a-zA-Z]{2}-[0-9]{1,3}\s?', fullmatch=True)),
    st.one_of(st.integers(1, 25), st.integers(1, 25).map(str), st.sampled_from([' 7 ', '１２', 5.0, Decimal(3)])),
    st.sampled_from(['IN', 'in', 'OUT', ' out\n']),
)
cases = st.one_of(plausible_cases, st.tuples(order_numbers, quantities, movement_types))


def _refused_message_ok(exc: PotrackError) -> None:
    assert exc.message and len(exc.message) <= MESSAGE_MAX, exc.message[:300]
    assert not CONTROL_RE.search(exc.message), repr(exc.message)


def _movements(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text('SELECT COUNT(*) FROM production_order')).scalar_one()


def test_record_movement_stores_clean_input_or_refuses_it(db: Database, admin: Actor, wc) -> None:
    """Valid input is booked as the rules normalize it, an OUT above the balance is refused with the numbers,
    and invalid input gets the first refusal of order number, quantity, type, in that order."""
    codes = {wc(code): code for code in ('WC001', 'WC002', 'WC003')}
    balances: dict[tuple[int, str], int] = {}  # what the balance grid must show, kept by this test
    outcomes = {'recorded': 0, 'invalid': 0, 'insufficient': 0}

    @DB_SETTINGS
    @given(case=cases, wc_id=st.sampled_from(sorted(codes)))
    def attempt(case: tuple[Any, Any, Any], wc_id: int) -> None:
        order, quantity, kind = case
        expected = (expected_order(order), expected_quantity(quantity), expected_type(kind))
        before = _movements(db)

        def record() -> Any:
            return record_movement(
                admin, work_center_id=wc_id, order_number=order, quantity=quantity, movement_type=kind
            )

        refusal = next((e for e in expected if isinstance(e, Refused)), None)
        if refusal is not None:
            with pytest.raises(InvalidInput) as err:
                record()
            assert (err.value.message, err.value.field) == (refusal.message, refusal.field)
            _refused_message_ok(err.value)
            assert _movements(db) == before
            outcomes['invalid'] += 1
            return
        number, qty, mtype = expected
        there = balances.get((wc_id, number), 0)
        if mtype == 'OUT' and qty > there:
            with pytest.raises(InsufficientBalance) as short:
                record()
            assert short.value.message == (
                f'Only {there} pieces of {number} are at {codes[wc_id]}; you tried to send {qty}.'
            )
            assert _movements(db) == before
            outcomes['insufficient'] += 1
            return
        result = record()
        balances[wc_id, number] = there + qty if mtype == 'IN' else there - qty
        assert (result.order_number, result.quantity, result.movement_type, result.work_center_code) == (
            number,
            qty,
            mtype,
            codes[wc_id],
        )
        assert (result.balance, result.already_recorded) == (balances[wc_id, number], False)
        assert _movements(db) == before + 1
        outcomes['recorded'] += 1

    attempt()
    assert outcomes['recorded'] > 0 and outcomes['invalid'] > 0, outcomes
    report = check_consistency(db)
    assert report.consistent, [m.describe() for m in report.mismatches]
    assert report.movements == outcomes['recorded']


@pytest.mark.parametrize(('raw', 'expected'), ORDER_CASES, ids=[f'order{i}' for i in range(len(ORDER_CASES))])
def test_each_realistic_order_number_is_kept_or_refused_as_the_rules_say(raw: str, expected: str | Refused) -> None:
    assert_outcome(normalize_order_number, raw, expected)
    assert expected_order(raw) == expected  # the rules the generated tests use agree with this table


@UNIT_SETTINGS
@given(raw=order_numbers)
def test_order_numbers_are_normalized_or_refused_as_the_rules_say(raw: Any) -> None:
    expected = expected_order(raw)
    assert_outcome(normalize_order_number, raw, expected)
    if isinstance(expected, Refused):
        return
    assert STORED_ORDER_RE.fullmatch(expected)
    assert normalize_order_number(expected) == expected
    # What a scanner or a keyboard may add or change around a valid number comes back to the same number.
    full_width = ''.join(chr(ord(c) + 0xFEE0) for c in expected)
    assert normalize_order_number(f' \t{expected.lower()}\r\n') == expected
    assert normalize_order_number(full_width) == expected


@UNIT_SETTINGS
@given(raw=st.from_regex(r'[A-Z0-9][A-Z0-9\-_/.]{0,39}', fullmatch=True))
def test_every_well_formed_order_number_is_kept_as_it_is(raw: str) -> None:
    assert normalize_order_number(raw) == raw


@UNIT_SETTINGS
@given(raw=quantities)
def test_quantities_are_parsed_or_refused_as_the_rules_say(raw: Any) -> None:
    expected = expected_quantity(raw)
    assert_outcome(parse_quantity, raw, expected)
    if isinstance(expected, Refused):
        return
    assert parse_quantity(str(expected)) == expected
    assert parse_quantity(f' {expected:,}\n') == expected


@UNIT_SETTINGS
@given(n=st.integers(-(10**7), 10**7), pad=st.sampled_from(['', ' ', '\t', '\r\n', '\u3000']))
def test_typed_numbers_parse_to_themselves_when_in_range(n: int, pad: str) -> None:
    full_width = ''.join(chr(ord(c) + 0xFEE0) for c in str(n))
    if n < 1:
        expected: int | Refused = Refused(f'The quantity must be at least 1; {n} was entered.', 'quantity')
    elif n > QUANTITY_MAX:
        expected = Refused(f'At most 1,000,000 pieces can be recorded at once; {n:,} was entered.', 'quantity')
    else:
        expected = n
    for typed in (f'{pad}{n}{pad}', full_width, f'{n:,}', float(n), Decimal(n)):
        assert_outcome(parse_quantity, typed, expected)


@pytest.mark.parametrize(('raw', 'expected'), QUANTITY_CASES, ids=[f'qty{i}' for i in range(len(QUANTITY_CASES))])
def test_each_sampled_quantity_is_parsed_or_refused_as_the_rules_say(raw: Any, expected: int | Refused) -> None:
    assert_outcome(parse_quantity, raw, expected)
    assert expected_quantity(raw) == expected  # the rules the generated tests use agree with this table


@pytest.mark.parametrize(
    ('raw', 'expected'),
    [('IN', 'IN'), (' out\n', 'OUT'), ('In', 'IN'), ('ＩＮ', None), ('IN\x00', None), ('I N', None), ('', None)]
    + [(raw, None) for raw in (None, 1, b'IN', ['IN'])],
)
def test_movement_types_are_in_or_out_or_refused(raw: Any, expected: str | None) -> None:
    outcome = Refused('Choose IN or OUT.', 'movement_type') if expected is None else expected
    assert_outcome(parse_movement_type, raw, outcome)
    assert expected_type(raw) == outcome
