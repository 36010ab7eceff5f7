"""Normalizing and checking what people type, before anything touches the database."""

from __future__ import annotations

import math
import re
import unicodedata
import uuid
from decimal import Decimal
from typing import Any

from potrack.config import ORDER_NUMBER_MAX_LEN, QUANTITY_MAX, REASON_MAX_LEN, REQUEST_ID_MAX_LEN
from potrack.db.models import IN, OUT
from potrack.errors import InvalidInput
from potrack.i18n import N_

ORDER_NUMBER_RE = re.compile(r'[A-Z0-9][A-Z0-9\-_/.]*')
REQUEST_ID_RE = re.compile(r'[A-Za-z0-9\-_.:]+')
_CONTROL_RE = re.compile(r'[\x00-\x1f\x7f-\x9f]')
# Search text: control characters dropped, the whitespace ones among them (tab, CR, LF, ...) made spaces.
_SEARCH_CLEAN = {code: ' ' if chr(code).isspace() else None for code in (*range(0x20), 0x7F)}
QUANTITY_TEXT_RE = re.compile(r'[+-]?[0-9]+')
# A count made of batches, as an operator keys it off a cart: "17+13+21", spaces allowed around each +.
QUANTITY_SUM_RE = re.compile(r'[0-9]+(?:\s*\+\s*[0-9]+)+')
QUANTITY_SUM_MAX_LEN = 60  # characters of a typed sum; its total is bounded like any quantity
QUANTITY_TERM_MAX_LEN = 12  # digits of one number, typed alone or in a sum
_SHOWN_QUANTITY_LIMIT = 10**15


ENTER_PIECES = N_('Enter the number of pieces.')


def shown(text: str, limit: int = 30) -> str:
    """A piece of user input fit to quote back in a message: short, without control characters."""
    text = _CONTROL_RE.sub('?', text)
    return text if len(text) <= limit else text[: limit - 1] + '…'


def search_text(raw: Any) -> str:
    """What a person searches for, fit for SQL: without control characters (0x00-0x1f, 0x7f), trimmed.

    PostgreSQL refuses a NUL in any string, and a scanner's CR or a pasted tab is never part of what is
    sought: "PO-1\\x00" searches for "PO-1", "Anita\\tSharma" for "Anita Sharma". Anything but text is "".
    """
    return raw.translate(_SEARCH_CLEAN).strip() if isinstance(raw, str) else ''


def normalize_order_number(raw: Any) -> str:
    """Trim, fold full-width forms (NFKC) and upper-case an order number; refuse anything else odd.

    Scanners add CR, LF or tabs around the code; those are trimmed. Spaces inside the number, other
    characters and overlong numbers are refused rather than guessed at.
    """
    if not isinstance(raw, str):
        raise InvalidInput(N_('Enter an order number.'), field='order_number', params={})
    text = unicodedata.normalize('NFKC', raw).strip().upper()
    if not text:
        raise InvalidInput(N_('Enter an order number.'), field='order_number', params={})
    if len(text) > ORDER_NUMBER_MAX_LEN:
        raise InvalidInput(
            N_('An order number has at most {max} characters; this one has {length}.'),
            field='order_number',
            params={'max': ORDER_NUMBER_MAX_LEN, 'length': len(text)},
        )
    if not ORDER_NUMBER_RE.fullmatch(text):
        raise InvalidInput(
            N_(
                'Order number "{typed}" may contain only letters A–Z, digits and - _ / . '
                '(no spaces), and must start with a letter or digit.'
            ),
            field='order_number',
            params={'typed': shown(text)},
        )
    return text


def parse_quantity(raw: Any) -> int:
    """A whole number of pieces between 1 and QUANTITY_MAX, from an int or typed text.

    Text may be a sum of batches ("17+13+21"): each number at least 1, the total within the same bounds.
    Raises InvalidInput (field "quantity") with a sentence saying what is wrong.
    """
    if isinstance(raw, bool):
        raise InvalidInput(ENTER_PIECES, field='quantity', params={})
    value: int | None = None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float | Decimal):
        # Decimal's own tests: comparing a signalling NaN raises, and int() of 1E+999999 runs for minutes.
        whole = raw.is_finite() and raw == raw.to_integral_value() if isinstance(raw, Decimal) else raw.is_integer()
        if not whole:
            raise InvalidInput(N_('The quantity must be a whole number of pieces.'), field='quantity', params={})
        value = int(raw) if abs(raw) < _SHOWN_QUANTITY_LIMIT else int(math.copysign(_SHOWN_QUANTITY_LIMIT, raw))
    elif isinstance(raw, str):
        text = unicodedata.normalize('NFKC', raw).strip().replace(',', '').replace('_', '')
        if not text:
            raise InvalidInput(ENTER_PIECES, field='quantity', params={})
        # A sum starts with a digit; a leading sign ("+12", "++5") is a plain number, well or badly typed.
        value = _quantity_sum(text, raw) if text[0] in '0123456789' and '+' in text else None
        if value is None:
            if len(text) > QUANTITY_TERM_MAX_LEN or not QUANTITY_TEXT_RE.fullmatch(text):
                raise InvalidInput(
                    N_('The quantity must be a whole number of pieces, not "{typed}".'),
                    field='quantity',
                    params={'typed': shown(raw)},
                )
            value = int(text)
    if value is None:
        raise InvalidInput(ENTER_PIECES, field='quantity', params={})
    shown_value = abs(value) < _SHOWN_QUANTITY_LIMIT  # left out of the sentence when too long to show (or print)
    if value < 1:
        raise InvalidInput(
            N_('The quantity must be at least 1; {value} was entered.')
            if shown_value
            else N_('The quantity must be at least 1.'),
            field='quantity',
            params={'value': value},
        )
    if value > QUANTITY_MAX:
        raise InvalidInput(
            N_('At most {max} pieces can be recorded at once; {value} was entered.')
            if shown_value
            else N_('At most {max} pieces can be recorded at once.'),
            field='quantity',
            params={'max': f'{QUANTITY_MAX:,}', 'value': f'{value:,}' if shown_value else ''},
        )
    return value


def _quantity_sum(text: str, raw: str) -> int:
    """The total of a typed sum like "17+13+21"; each number a whole number of at least 1."""
    if len(text) > QUANTITY_SUM_MAX_LEN or not QUANTITY_SUM_RE.fullmatch(text):
        raise InvalidInput(
            N_('A sum of pieces is whole numbers joined by +, like 17+13+21; "{typed}" is not.'),
            field='quantity',
            params={'typed': shown(raw)},
        )
    numbers = [t.strip() for t in text.split('+')]
    if any(len(n) > QUANTITY_TERM_MAX_LEN for n in numbers):
        raise InvalidInput(
            N_('The numbers in "{typed}" are too long to be counts of pieces.'),
            field='quantity',
            params={'typed': shown(raw)},
        )
    if any(int(n) < 1 for n in numbers):
        raise InvalidInput(
            N_('Each number in a sum must be at least 1; "{typed}" has a 0.'),
            field='quantity',
            params={'typed': shown(raw)},
        )
    return sum(int(n) for n in numbers)


def parse_movement_type(raw: Any) -> str:
    text = raw.strip().upper() if isinstance(raw, str) else ''
    if text not in (IN, OUT):
        raise InvalidInput('Choose IN or OUT.', field='movement_type')
    return text


def normalize_request_id(raw: str | None) -> str:
    """The idempotency key of a request; a fresh one when the caller has none."""
    if raw is None:
        return uuid.uuid4().hex
    text = raw.strip() if isinstance(raw, str) else ''
    if not text or len(text) > REQUEST_ID_MAX_LEN or not REQUEST_ID_RE.fullmatch(text):
        raise InvalidInput(
            f'A request id has 1 to {REQUEST_ID_MAX_LEN} letters, digits or - _ . : characters.',
            field='request_id',
        )
    return text


def clean_text(raw: Any, *, field: str, label: str, max_len: int, required: bool = True) -> str:
    """Trimmed single-line text without control characters, within `max_len`."""
    text = unicodedata.normalize('NFC', raw).strip() if isinstance(raw, str) else ''
    text = _CONTROL_RE.sub(' ', text).strip()
    if required and not text:
        raise InvalidInput(f'{label} is required.', field=field)
    if len(text) > max_len:
        raise InvalidInput(f'{label} has at most {max_len} characters; this has {len(text)}.', field=field)
    return text


def clean_reason(raw: Any) -> str:
    return clean_text(raw, field='reason', label='A reason', max_len=REASON_MAX_LEN)
