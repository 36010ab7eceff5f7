"""The REST API's request and response bodies, as they appear in its OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from potrack.config import ORDER_NUMBER_MAX_LEN, QUANTITY_MAX

# What the ledger accepts, as the schema can say it (normalize_order_number also trims, folds full-width
# forms and upper-cases): declared for clients and schemathesis, enforced by the ledger with its messages.
ORDER_NUMBER_PATTERN = r'^[A-Za-z0-9][A-Za-z0-9\-_/.]*$'

WITH_REASON = ('scrap', 'rework')
ID_MAX = 2**31 - 1  # an id column's range on PostgreSQL
# The flow's rules on a movement's shape, as the schema can say them (MovementIn's validators keep them):
# only an OUT has a disposition; scrap and rework name a reason, rework the step it goes back to; neither
# is sent without them. Whether the reason and the step fit the order is the ledger's to decide.
FLOW_SHAPE = {
    'allOf': [
        {
            'if': {'properties': {'type': {'const': 'IN'}}, 'required': ['type']},
            'then': {'properties': {'disposition': {'enum': ['sent', None]}}},
        },
        {
            'if': {'properties': {'disposition': {'enum': list(WITH_REASON)}}, 'required': ['disposition']},
            'then': {'properties': {'reason_id': {'type': 'integer'}}, 'required': ['reason_id']},
            'else': {'properties': {'reason_id': {'type': 'null'}}},
        },
        {
            'if': {'properties': {'disposition': {'const': 'rework'}}, 'required': ['disposition']},
            'then': {'properties': {'rework_to': {'type': 'string'}}, 'required': ['rework_to']},
            'else': {'properties': {'rework_to': {'type': 'null'}}},
        },
    ]
}

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
    model_config = ConfigDict(extra='forbid', strict=True, json_schema_extra=FLOW_SHAPE)

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
    disposition: Literal['sent', 'scrap', 'rework'] | None = Field(
        default=None,
        description="An OUT's: 'sent' on (the default: in transit to the next step of the order's route), 'scrap' "
        "(with reason_id) or 'rework' (with reason_id and rework_to: back to an earlier step). Not for an IN.",
    )
    reason_id: StrictInt | None = Field(
        default=None,
        ge=1,
        le=ID_MAX,
        validate_default=True,
        description='Why, for scrap and rework (required with them, refused without): a reason from Admin → Reasons.',
    )
    rework_to: StrictStr | None = Field(
        default=None,
        max_length=20,
        validate_default=True,
        examples=['WC001'],
        description='For rework (required with it, refused without): the code of the earlier work center of the '
        "order's route the pieces go back to.",
    )

    @field_validator('disposition')
    @classmethod
    def _only_out(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value in WITH_REASON and info.data.get('type') == 'IN':
            raise PydanticCustomError('flow', 'Only pieces going OUT are scrapped or sent back for rework.')
        return value

    @field_validator('reason_id')
    @classmethod
    def _reason_with_disposition(cls, value: int | None, info: ValidationInfo) -> int | None:
        wanted = info.data.get('disposition') in WITH_REASON
        if wanted and value is None:
            raise PydanticCustomError('flow', 'Scrap and rework need a reason_id: say why.')
        if value is not None and not wanted:
            raise PydanticCustomError('flow', 'A reason_id goes with disposition scrap or rework only.')
        return value

    @field_validator('rework_to')
    @classmethod
    def _target_with_rework(cls, value: str | None, info: ValidationInfo) -> str | None:
        wanted = info.data.get('disposition') == 'rework'
        if wanted and value is None:
            raise PydanticCustomError('flow', 'Rework needs rework_to: the work center the pieces go back to.')
        if value is not None and not wanted:
            raise PydanticCustomError('flow', 'rework_to goes with disposition rework only.')
        return value


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
    disposition: Literal['sent', 'scrap', 'rework'] | None = Field(
        default=None, description="An OUT's disposition; null for an IN."
    )
    to_work_center: str | None = Field(
        default=None,
        description='Where the pieces went in transit: the next step (sent on) or the earlier one (rework); null '
        'when they went nowhere (scrap, an IN, an order without a route, its last step).',
    )
    transit_qty: int = Field(
        default=0,
        description='Pieces put in transit by this OUT, or taken out of the transit to this work center by this IN.',
    )
    reason_id: int | None = Field(default=None, description='The reason of a scrap or rework.')
    flag: Literal['over_receipt', 'off_route'] | None = Field(
        default=None,
        description='An IN the office sees flagged: more than was sent (within the tolerance), or at a work center '
        'not on the route (where the site allows it).',
    )


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
