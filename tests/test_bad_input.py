"""Whatever is typed, scanned or posted, the ledger either records it cleanly or refuses it politely.

Generated order numbers (spaces, unicode, control characters, 10 kB strings, realistic codes),
quantities (zero, negative, huge, floats, decimals, text, None, bools) and movement types go through
`record_movement`: the result is a stored, normalized movement, or a PotrackError with a message fit to
show; never a crash, never a half-written row.
"""

from __future__ import annotations

import re
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

REALISTIC_ORDERS = [
    'PO-2026-0012',
    'po-2026-0012',
    ' PO-2026-0012\r\n',
    '\tWO/12.3_A\n',
    'ｐｏ－１２',  # full-width, as some scanners send it
    '１２３４５',
    'A' * ORDER_NUMBER_MAX_LEN,
    'A' * (ORDER_NUMBER_MAX_LEN + 1),
    'ß' * 20,  # upper-cases to 40 characters
    'ß' * 21,  # ... and to 42
    'po-ı',  # dotless i upper-cases to I
    'PO 12',
    'PO\u300012',  # ideographic space, NFKC turns it into a plain one
    'PO-12\x00',
    'PO-\x1b[31m12',
    '-PO-12',
    '.',
    '',
    '   ',
    '\r\n',
    'PO-12;DROP TABLE order_balance',
    "PO-12' OR '1'='1",
    'PO-12%',
    'PO-12\u200b',  # zero-width space
    'ＰＯ－１２／Ａ．１',
    'Ⅻ-7',  # roman numeral twelve: NFKC makes it XII
]
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
SAMPLED_QUANTITIES: list[Any] = [
    0,
    -1,
    1,
    20,
    QUANTITY_MAX,
    QUANTITY_MAX + 1,
    10**12,
    10**5000,  # beyond Python's int-to-text limit
    -(10**5000),
    2.5,
    3.0,
    -0.0,
    1e300,
    float('nan'),
    float('inf'),
    Decimal('7'),
    Decimal('7.000'),
    Decimal('7.5'),
    Decimal('-7'),
    Decimal('NaN'),
    Decimal('sNaN'),
    Decimal('Infinity'),
    Decimal('1e999999'),  # converting this to int would take minutes
    Decimal('-1e999999'),
    Decimal('1e-999999'),
    '12',
    ' 12 ',
    '\t12\r\n',
    '+12',
    '-12',
    '+-5',
    '--5',
    '++5',
    '1 2',
    '1,000',
    '1_000',
    '１２',
    '١٢',  # Arabic-Indic digits
    '²',
    '0x10',
    '1e3',
    '12.0',
    '12.5',
    'nan',
    'inf',
    '',
    '   ',
    '9' * 13,
    '0' * 12 + '1',
    None,
    True,
    False,
    [],
    Fraction(3, 1),
    1 + 0j,
]
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


def _invalid(fn: Any, raw: Any) -> bool:
    try:
        fn(raw)
    except InvalidInput:
        return True
    return False


def test_record_movement_stores_clean_input_or_refuses_it(db: Database, admin: Actor, wc) -> None:
    wc_ids = [wc(code) for code in ('WC001', 'WC002', 'WC003')]
    outcomes = {'recorded': 0, 'invalid': 0, 'insufficient': 0}

    @DB_SETTINGS
    @given(case=cases, wc_id=st.sampled_from(wc_ids))
    def attempt(case: tuple[Any, Any, Any], wc_id: int) -> None:
        order, quantity, kind = case
        before = _movements(db)
        try:
            result = record_movement(
                admin, work_center_id=wc_id, order_number=order, quantity=quantity, movement_type=kind
            )
        except PotrackError as exc:
            assert isinstance(exc, InvalidInput | InsufficientBalance), repr(exc)
            _refused_message_ok(exc)
            assert _movements(db) == before
            if isinstance(exc, InvalidInput):
                outcomes['invalid'] += 1
                assert any(
                    _invalid(fn, raw)
                    for fn, raw in (
                        (normalize_order_number, order),
                        (parse_quantity, quantity),
                        (parse_movement_type, kind),
                    )
                )
            else:
                outcomes['insufficient'] += 1
                assert parse_movement_type(kind) == 'OUT'
                assert exc.requested == parse_quantity(quantity) > exc.available >= 0
        else:
            outcomes['recorded'] += 1
            assert result.order_number == normalize_order_number(order)
            assert STORED_ORDER_RE.fullmatch(result.order_number), result.order_number
            assert result.quantity == parse_quantity(quantity)
            assert result.movement_type == parse_movement_type(kind)
            assert result.balance >= 0 and not result.already_recorded
            assert _movements(db) == before + 1

    attempt()
    assert outcomes['recorded'] > 0 and outcomes['invalid'] > 0, outcomes
    report = check_consistency(db)
    assert report.consistent, [m.describe() for m in report.mismatches]
    assert report.movements == outcomes['recorded']


@UNIT_SETTINGS
@given(raw=order_numbers)
def test_order_number_normalization_is_clean_and_idempotent(raw: Any) -> None:
    try:
        order = normalize_order_number(raw)
    except InvalidInput as exc:
        _refused_message_ok(exc)
        assert exc.field == 'order_number'
        return
    assert STORED_ORDER_RE.fullmatch(order) and order[0].isalnum()
    assert normalize_order_number(order) == order
    # What a scanner or a keyboard may add or change around a valid number comes back to the same number.
    full_width = ''.join(chr(ord(c) + 0xFEE0) for c in order)
    assert normalize_order_number(f' \t{order.lower()}\r\n') == order
    assert normalize_order_number(full_width) == order


@UNIT_SETTINGS
@given(raw=st.from_regex(r'[A-Z0-9][A-Z0-9\-_/.]{0,39}', fullmatch=True))
def test_every_well_formed_order_number_is_kept_as_it_is(raw: str) -> None:
    assert normalize_order_number(raw) == raw


@UNIT_SETTINGS
@given(raw=quantities)
def test_quantity_parsing_gives_a_whole_number_in_range_or_refuses(raw: Any) -> None:
    try:
        value = parse_quantity(raw)
    except InvalidInput as exc:
        _refused_message_ok(exc)
        assert exc.field == 'quantity'
        return
    assert type(value) is int and 1 <= value <= QUANTITY_MAX
    assert parse_quantity(value) == value
    assert parse_quantity(str(value)) == value
    assert parse_quantity(f' {value:,}\n') == value
    if isinstance(raw, int | float | Decimal):
        assert value == raw


@UNIT_SETTINGS
@given(n=st.integers(-(10**7), 10**7), pad=st.sampled_from(['', ' ', '\t', '\r\n', '\u3000']))
def test_typed_numbers_parse_to_themselves_when_in_range(n: int, pad: str) -> None:
    full_width = ''.join(chr(ord(c) + 0xFEE0) for c in str(n))
    for typed in (f'{pad}{n}{pad}', full_width, f'{n:,}', float(n), Decimal(n)):
        if 1 <= n <= QUANTITY_MAX:
            assert parse_quantity(typed) == n
        else:
            with pytest.raises(InvalidInput):
                parse_quantity(typed)


@pytest.mark.parametrize('raw', SAMPLED_QUANTITIES, ids=lambda v: f'{type(v).__name__}')
def test_each_sampled_quantity_is_parsed_or_refused(raw: Any) -> None:
    try:
        value = parse_quantity(raw)
    except InvalidInput as exc:
        _refused_message_ok(exc)
    else:
        assert 1 <= value <= QUANTITY_MAX
