"""The REST API's request and response bodies, as they appear in its OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from potrack.config import ORDER_NUMBER_MAX_LEN, QUANTITY_MAX

# What the ledger accepts, as the schema can say it (normalize_order_number also trims, folds full-width
# forms and upper-cases): declared for clients and schemathesis, enforced by the ledger with its messages.
ORDER_NUMBER_PATTERN = r'^[A-Za-z0-9][A-Za-z0-9\-_/.]*$'

ERROR_CODES = (
    'invalid_input',
    'not_allowed',
    'not_found',
    'conflict',
    'insufficient_balance',
    'unknown_order',
    'order_not_open',
    'unauthorized',
    'body_too_large',
    'not_saved',
    'not_acceptable',
    'method_not_allowed',
    'internal_error',
)


class ErrorDetail(BaseModel):
    code: str = Field(description=f'Stable machine-readable code, one of: {", ".join(ERROR_CODES)}.')
    message: str = Field(description='A sentence fit to show a person.')
    field: str | None = Field(default=None, description='The input the error is about, when there is one.')


class ErrorBody(BaseModel):
    error: ErrorDetail


class MovementIn(BaseModel):
    model_config = ConfigDict(extra='forbid', strict=True)

    # Strict JSON types: `true`, `2.0`, `1e3` and `"5"` are not a count of pieces, and a number is not an
    # order number. Within those, the order number's rules are the ledger's own checks, which give the
    # messages the kiosk shows ("Enter an order number."); the schema only declares them (pattern, length).
    order_number: StrictStr = Field(
        max_length=ORDER_NUMBER_MAX_LEN * 4,
        examples=['PO-2026-0012'],
        json_schema_extra={'pattern': ORDER_NUMBER_PATTERN, 'maxLength': ORDER_NUMBER_MAX_LEN},
    )
    work_center: StrictStr = Field(max_length=20, description='Work center code, e.g. WC001.', examples=['WC001'])
    quantity: StrictInt = Field(
        ge=1,
        le=QUANTITY_MAX,
        examples=[12],
        description='Pieces, as a JSON integer: 2.0, 1e3, "5" and true are refused.',
    )
    type: Literal['IN', 'OUT'] = Field(description='IN: received at the work center; OUT: sent on.')
    create_order: bool = Field(
        default=False,
        description="Under the site's 'confirm' policy, true adds an order that is not in the order book (source "
        '"api") and records the movement; without it such an order is refused with 404 unknown_order. Under '
        "'refuse' only orders in the book are accepted; under 'allow' every order is.",
    )


class MovementOut(BaseModel):
    id: int
    order_number: str
    work_center: str
    type: str
    quantity: int = Field(description='As stored: negative for a reversal.')
    created_at: datetime
    balance: int = Field(description='Pieces of the order at the work center right after this movement.')
    qty_in: int
    qty_out: int
    already_recorded: bool = Field(description='True when this answers a retry with the same Idempotency-Key.')


class MovementRowOut(BaseModel):
    id: int
    created_at: datetime
    order_number: str
    work_center: str
    work_center_name: str
    type: str
    quantity: int
    user_id: int
    username: str
    user_full_name: str
    department: str | None
    reverses_id: int | None
    reason: str | None


class Totals(BaseModel):
    count: int
    qty_in: int
    qty_out: int
    net: int


class MovementPageOut(BaseModel):
    offset: int
    limit: int
    totals: Totals = Field(description='For every movement the filters select, not just this page.')
    rows: list[MovementRowOut]


class BalanceRowOut(BaseModel):
    work_center: str
    order_number: str
    qty_in: int
    qty_out: int
    balance: int
    last_movement_at: datetime | None
    last_username: str | None


class BalancePageOut(BaseModel):
    total: int
    offset: int
    limit: int
    rows: list[BalanceRowOut]


class WorkCenterTotalOut(BaseModel):
    work_center: str
    name: str
    is_active: bool
    qty_in: int
    qty_out: int
    balance: int
    open_orders: int


class WorkCenterOut(BaseModel):
    id: int
    code: str
    name: str
    description: str
    is_active: bool
