"""Which column of an order file holds which field: recognized by its header, remembered, or chosen.

A column is found by its header on line 1, compared without case, spaces, underscores or punctuation
("Order No." = "order_no"). What an admin chose for a header potrack does not recognize is remembered for
the site, so the ERP's next file needs no choosing. A column is never guessed twice: when two headers
could be the same field, or one column is chosen for two fields, the file waits for a choice.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from openpyxl.utils import get_column_letter

from potrack.common.validation import shown

# The fields an order file may carry, in the order a preview shows them, with the name a message uses.
LABELS: dict[str, str] = {
    'order_number': 'order number',
    'product_code': 'product',
    'product_description': 'description',
    'planned_quantity': 'planned quantity',
    'due_date': 'due date',
    'route': 'route',
    'notes': 'notes',
    'status': 'status',
}
REQUIRED = ('order_number',)
# Headers recognized for each field, as `header_key` folds them.
SYNONYMS: dict[str, tuple[str, ...]] = {
    'order_number': ('ordernumber', 'orderno', 'ordernr', 'order', 'po', 'pono', 'ponumber', 'productionorder'),
    'product_code': ('product', 'productcode', 'item', 'itemcode', 'itemno', 'itemnumber', 'material', 'partno'),
    'product_description': ('description', 'productdescription', 'itemdescription', 'productname', 'itemname'),
    'planned_quantity': ('plannedquantity', 'plannedqty', 'quantity', 'qty', 'orderquantity', 'orderqty'),
    'due_date': ('duedate', 'due', 'deliverydate'),
    'route': ('route', 'routing'),
    'notes': ('notes', 'note', 'remarks', 'comments', 'comment'),
    'status': ('status', 'orderstatus'),
}
# How a missing column is described: the headers a person would most likely write.
EXAMPLES: dict[str, str] = {
    'order_number': '"order_number", "Order number", "Order No" or "PO"',
}


def header_key(text: str) -> str:
    """A header folded for comparing: 'Order No.' and 'order_no' both give 'orderno'."""
    return re.sub(r'[^0-9a-z]', '', unicodedata.normalize('NFKC', text).casefold())


def column_name(index: int, header: str) -> str:
    """'column C ("Qty")' for messages, with the letter a spreadsheet shows."""
    return (
        f'column {get_column_letter(index + 1)} ("{shown(header)}")'
        if header
        else f'column {get_column_letter(index + 1)}'
    )


@dataclass
class Columns:
    """The columns read: `index` field -> column (0-based), `mapping` field -> header as written."""

    index: dict[str, int] = field(default_factory=dict)
    mapping: dict[str, str] = field(default_factory=dict)
    # The part of `mapping` whose header potrack does not recognize by itself: what a site remembers.
    chosen: dict[str, str] = field(default_factory=dict)
    unused: list[str] = field(default_factory=list)  # headers read into no field
    problems: list[str] = field(default_factory=list)  # about line 1; the file is not imported while any


def resolve_columns(
    headers: Sequence[str],
    mapping: Mapping[str, str | None] | None = None,
    remembered: Mapping[str, str] | None = None,
) -> Columns:
    """Decide the column of each field: the admin's `mapping` first (None or '' = do not read the field),
    then what the site `remembered` (when that header is in this file), then the headers recognized."""
    cols = Columns()
    mapping = {k: v for k, v in (mapping or {}).items() if k in LABELS}
    remembered = {k: v for k, v in (remembered or {}).items() if k in LABELS and k not in mapping}
    for name, header in mapping.items():
        found = _find(headers, header) if header else []
        if len(found) == 1:
            _take(cols, headers, name, found[0])
        elif header:
            where = 'is not on line 1' if not found else 'appears more than once on line 1'
            cols.problems.append(f'the column "{shown(header)}" chosen for the {LABELS[name]} {where}.')
    for name, header in remembered.items():  # a remembered header missing from this file is no problem
        found = _find(headers, header)
        if len(found) == 1 and found[0] not in cols.index.values():
            _take(cols, headers, name, found[0])
    claimed = set(cols.index.values())
    for name, keys in SYNONYMS.items():
        if name in cols.index or name in mapping:
            continue
        candidates = [i for i, h in enumerate(headers) if i not in claimed and header_key(h) in keys]
        if len(candidates) == 1:
            _take(cols, headers, name, candidates[0])
        elif candidates:
            both = ' and '.join(column_name(i, headers[i]) for i in candidates[:3])
            cols.problems.append(f'{both} could each be the {LABELS[name]}; choose the one to read.')
    _check_twice_used(cols, headers)
    for name in REQUIRED:
        if name not in cols.index:
            looked = f': no header on line 1 is {EXAMPLES[name]}' if name in EXAMPLES else ''
            cols.problems.append(f'there is no {LABELS[name]} column{looked}. Choose the column that holds it.')
    used = set(cols.index.values())
    cols.unused = [h for i, h in enumerate(headers) if h and i not in used]
    return cols


def _find(headers: Sequence[str], wanted: str) -> list[int]:
    exact = [i for i, h in enumerate(headers) if h == wanted]
    return exact or [i for i, h in enumerate(headers) if h and header_key(h) == header_key(wanted)]


def _take(cols: Columns, headers: Sequence[str], name: str, index: int) -> None:
    cols.index[name] = index
    cols.mapping[name] = headers[index]
    if header_key(headers[index]) not in SYNONYMS[name]:
        cols.chosen[name] = headers[index]


def _check_twice_used(cols: Columns, headers: Sequence[str]) -> None:
    by_column: dict[int, list[str]] = {}
    for name, index in cols.index.items():
        by_column.setdefault(index, []).append(name)
    for index, names in by_column.items():
        if len(names) > 1:
            fields = ' and '.join(LABELS[n] for n in names)
            cols.problems.append(f'{column_name(index, headers[index])} is chosen for both the {fields}.')
            for name in names:
                del cols.index[name]
                cols.mapping.pop(name, None)
                cols.chosen.pop(name, None)
