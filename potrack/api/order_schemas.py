"""The REST API's bodies for the order book (POST and GET /api/v1/orders)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Discriminator, Field, StrictInt, StrictStr, Tag

from potrack.api.schemas import ORDER_NUMBER_PATTERN
from potrack.config import ORDER_NUMBER_MAX_LEN
from potrack.orders.fields import NOTES_MAX_LEN, PRODUCT_CODE_MAX_LEN, PRODUCT_DESCRIPTION_MAX_LEN, ROUTE_MAX_LEN

MAX_BATCH = 1000
PLANNED_MAX = 1_000_000_000


class OrderIn(BaseModel):
    """One order as the ERP sends it. A field left out keeps what the book has (for a new order: empty)."""

    model_config = ConfigDict(extra='forbid', strict=True)

    order_number: StrictStr = Field(
        max_length=ORDER_NUMBER_MAX_LEN * 4,
        examples=['PO-2026-000104'],
        json_schema_extra={'pattern': ORDER_NUMBER_PATTERN, 'maxLength': ORDER_NUMBER_MAX_LEN},
    )
    product_code: StrictStr | None = Field(default=None, max_length=PRODUCT_CODE_MAX_LEN, examples=['BRK-220'])
    product_description: StrictStr | None = Field(default=None, max_length=PRODUCT_DESCRIPTION_MAX_LEN)
    planned_quantity: StrictInt | None = Field(default=None, ge=1, le=PLANNED_MAX, examples=[40])
    due_date: date | None = Field(
        default=None,
        strict=False,  # a JSON string; strict mode would take only a Python date
        description='YYYY-MM-DD, between 2000 and 2999.',
        json_schema_extra={'pattern': r'^2[0-9]{3}-[0-9]{2}-[0-9]{2}$'},
    )
    route: StrictStr | None = Field(
        default=None,
        max_length=ROUTE_MAX_LEN,
        description='Work center codes in order, joined by ">", e.g. WC001>WC002>WC005.',
        examples=['WC001>WC002>WC005'],
    )
    notes: StrictStr | None = Field(default=None, max_length=NOTES_MAX_LEN)


class OrderBatchIn(BaseModel):
    model_config = ConfigDict(extra='forbid', strict=True)

    orders: list[OrderIn] = Field(min_length=1, max_length=MAX_BATCH)


class OrderChangeOut(BaseModel):
    order_number: str
    changes: dict[str, list[object]] = Field(description='Each changed field: [before, after].')


class OrderSaveOut(BaseModel):
    """What a POST did: each order created, updated (with the changes), unchanged, or left as it is because it
    is closed or cancelled. Sending the same orders again changes nothing and reports them unchanged."""

    created: list[str]
    updated: list[OrderChangeOut]
    unchanged: list[str]
    not_open: list[OrderChangeOut] = Field(description='Closed or cancelled orders the request would change.')


class OrderStepOut(BaseModel):
    """One work center of the order: a step of its route (in route order), or one off the route after them."""

    work_center: str = Field(description='Its code, as the route names it.')
    name: str = Field(description="The work center's name; empty when no work center has the code.")
    position: int | None = Field(description="1 for the route's first step; null: not on the route.")
    received: int = Field(description='Pieces received here.')
    wip: int = Field(description='Pieces here now (received less gone out).')
    in_transit: int = Field(description='Pieces sent to this work center and not yet received.')
    in_transit_since: datetime | None = Field(description='When the pieces now in transit began to wait (UTC).')
    in_transit_old: bool = Field(description="In transit longer than the site's setting.")
    scrapped: int
    reworked: int = Field(description='Pieces sent back from here to an earlier step for rework.')
    sent_on: int = Field(description='Pieces sent on from here (from the last step: finished).')
    qty_in: int = Field(description='The same as received (kept for earlier clients).')
    qty_out: int = Field(description='Pieces gone out from here: sent on, scrapped or sent back.')
    held: int = Field(description='The same as wip (kept for earlier clients).')


class OrderOut(BaseModel):
    order_number: str
    product_code: str
    product_description: str
    planned_quantity: int | None
    due_date: date | None
    route: str
    status: str
    source: str
    started: int = Field(description='Pieces released into the route at its first step (rework returns not counted).')
    wip: int = Field(description='Pieces at any work center now.')
    in_transit: int = Field(description='Pieces on their way between work centers.')
    scrapped: int
    reworked: int
    finished: int = Field(description="Pieces sent on from the route's last step.")
    yield_percent: float | None = Field(description='Finished of started, 0-100; null before anything started.')
    closable: bool = Field(description='The planned quantity is finished or scrapped: the order can be closed.')
    late: bool
    steps: list[OrderStepOut] = Field(
        description="The route's steps in order, then other work centers that hold or held pieces; only those of "
        "the caller's scope (the totals, too, count only those)."
    )


def _form(body: Any) -> str:
    return 'batch' if isinstance(body, dict) and 'orders' in body else 'order'


# One order, or {"orders": [...]}: told apart by the "orders" key, so a refusal speaks of the form sent.
OrdersBody = Annotated[Annotated[OrderIn, Tag('order')] | Annotated[OrderBatchIn, Tag('batch')], Discriminator(_form)]
