"""Reading the fields of an order, the same way from a dialog, an imported file, the API and the CLI.

Each parser takes what a person or a file gave (text, a number, a date, None) and returns the clean
value or raises InvalidInput with a sentence that names the field and quotes what was given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from potrack.common.field_checks import check_fields
from potrack.common.validation import clean_text, normalize_order_number, shown
from potrack.config import QUANTITY_MAX
from potrack.db.models import ORDER_STATUSES
from potrack.errors import InvalidInput

PRODUCT_CODE_MAX_LEN = 40
PRODUCT_DESCRIPTION_MAX_LEN = 200
NOTES_MAX_LEN = 500
ROUTE_MAX_LEN = 400
ROUTE_STEP_RE = re.compile(r'[A-Z0-9][A-Z0-9\-_]*')
# Dates as ERPs and spreadsheets write them: ISO first; day-first before month-first (India, Europe).
DATE_FORMATS = ('%Y-%m-%d', '%d.%m.%Y', '%d/%m/%Y', '%d-%m-%Y', '%Y/%m/%d', '%d %b %Y', '%d-%b-%Y')
EARLIEST_DUE, LATEST_DUE = date(2000, 1, 1), date(2999, 12, 31)
# Digits, grouped by thousands (1,500,000 or 1 500 000) or the Indian way (15,00,000): "1,5" is no whole number.
_WHOLE_NUMBER_RE = re.compile(
    r'[+]?(?:[0-9]+|[0-9]{1,3}(?:[, \u202f][0-9]{3})+|[0-9]{1,2}(?:,[0-9]{2})*,[0-9]{3})(?:\.0+)?'
)


@dataclass(frozen=True)
class OrderFields:
    """An order's fields as a person or a file gave them, checked. None: not given (keep what is stored)."""

    order_number: str
    product_code: str | None = None
    product_description: str | None = None
    planned_quantity: int | None = None
    due_date: date | None = None
    route: str | None = None
    notes: str | None = None


def parse_planned_quantity(raw: Any) -> int | None:
    """A positive whole number of pieces, or None for an empty cell ("not known")."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, bool):
        raise InvalidInput(f'planned quantity {raw} is not a positive whole number.', field='planned_quantity')
    value: int | None = None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, float) and raw.is_integer():
        value = int(raw)  # spreadsheets store every number as a float
    elif isinstance(raw, str):
        text = raw.strip()
        if _WHOLE_NUMBER_RE.fullmatch(text):
            value = int(re.sub(r'[^0-9.]', '', text).split('.')[0])
    if value is None or value <= 0:
        raise InvalidInput(f'planned quantity {_quoted(raw)} is not a positive whole number.', field='planned_quantity')
    if value > QUANTITY_MAX * 1000:
        raise InvalidInput(
            f'planned quantity {value} is more than {QUANTITY_MAX * 1000:,}; check the number.',
            field='planned_quantity',
        )
    return value


def parse_due_date(raw: Any) -> date | None:
    """A date (ISO, day-first with . / or -, or '7 Dec 2026'), or None for an empty cell."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    value: date | None = None
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    elif isinstance(raw, str):
        text = raw.strip()
        for fmt in DATE_FORMATS:
            try:
                value = datetime.strptime(text, fmt).date()
                break
            except ValueError:
                continue
    if value is None:
        raise InvalidInput(
            f'due date {_quoted(raw)} is not a date (write it as 2026-12-31 or 31.12.2026).', field='due_date'
        )
    if not EARLIEST_DUE <= value <= LATEST_DUE:
        raise InvalidInput(f'due date {value.isoformat()} is not between 2000 and 2999.', field='due_date')
    return value


def parse_route(raw: Any) -> str:
    """Work center codes in order, as `WC001>WC002>WC005` (also `→`, `,` or `;` between them), each once.

    Whether the codes name work centers is checked against the database by `route_checks`."""
    if raw is None:
        return ''
    text = str(raw).strip().upper()
    if not text:
        return ''
    steps = [step.strip() for step in re.split(r'\s*(?:>|→|,|;)\s*', text)]
    bad = [step for step in steps if not ROUTE_STEP_RE.fullmatch(step)]
    if bad:
        raise InvalidInput(
            f'route {_quoted(raw)}: "{shown(bad[0])}" is not a work center code '
            '(write the codes in order, like WC001>WC002>WC005).',
            field='route',
        )
    twice = next((step for i, step in enumerate(steps) if step in steps[:i]), None)
    if twice is not None:
        raise InvalidInput(
            f'route {_quoted(raw)}: {twice} comes twice; a route passes each work center once '
            '(rework sends pieces back without it).',
            field='route',
        )
    joined = '>'.join(steps)
    if len(joined) > ROUTE_MAX_LEN:
        raise InvalidInput(f'route has at most {ROUTE_MAX_LEN} characters; this has {len(joined)}.', field='route')
    return joined


def parse_status(raw: Any) -> str:
    text = raw.strip().lower() if isinstance(raw, str) else ''
    if text not in ORDER_STATUSES:
        raise InvalidInput(f'status {_quoted(raw)} is not one of {", ".join(ORDER_STATUSES)}.', field='status')
    return text


def parse_order_fields(
    *,
    order_number: Any,
    product_code: Any = None,
    product_description: Any = None,
    planned_quantity: Any = None,
    due_date: Any = None,
    route: Any = None,
    notes: Any = None,
) -> OrderFields:
    """Every field checked, every problem raised together (InvalidFields), so a form or a line shows them all."""
    values = check_fields(
        {
            'order_number': lambda: normalize_order_number(order_number),
            'product_code': lambda: _text(product_code, 'product_code', 'The product code', PRODUCT_CODE_MAX_LEN),
            'product_description': lambda: _text(
                product_description, 'product_description', 'The product description', PRODUCT_DESCRIPTION_MAX_LEN
            ),
            'planned_quantity': lambda: parse_planned_quantity(planned_quantity),
            'due_date': lambda: parse_due_date(due_date),
            'route': lambda: None if route is None else parse_route(route),
            'notes': lambda: _text(notes, 'notes', 'Notes', NOTES_MAX_LEN),
        }
    )
    return OrderFields(**values)


def _text(raw: Any, field: str, label: str, max_len: int) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        raw = str(int(raw)) if float(raw).is_integer() else str(raw)  # a product code a spreadsheet made a number
    return clean_text(raw, field=field, label=label, max_len=max_len, required=False)


def _quoted(raw: Any) -> str:
    return f'"{shown(str(raw))}"' if isinstance(raw, str) else shown(str(raw))
