"""The order book over REST: the ERP puts its orders in (one or a batch), anyone with a token reads one
with its progress along the route (received, in progress, in transit, scrapped, reworked, finished)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Path, Response
from pydantic import WithJsonSchema

from potrack.api.errors import COMMON_RESPONSES, ApiRoute, _doc
from potrack.api.order_schemas import (
    OrderBatchIn,
    OrderChangeOut,
    OrderIn,
    OrderOut,
    OrderSaveOut,
    OrdersBody,
    OrderStepOut,
)
from potrack.api.routes import API_V1, IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_SCHEMA, Token, as_caller, as_writer
from potrack.api.routes import _request_id as checked_key
from potrack.common.actors import Actor
from potrack.common.routes import route_codes
from potrack.errors import InvalidFields, InvalidInput
from potrack.orders.book import save_from_api
from potrack.orders.fields import OrderFields, parse_order_fields
from potrack.orders.listing import OrderRow, get_order
from potrack.orders.progress import StepPieces
from potrack.orders.saving import OrderChange, SaveReport

router = APIRouter(prefix=API_V1, route_class=ApiRoute, responses=COMMON_RESPONSES, tags=['orders'])
ORDER_NOT_FOUND = {404: _doc('The order is not in the order book.')}


def _fields(order: OrderIn) -> OrderFields:
    return parse_order_fields(
        order_number=order.order_number,
        product_code=order.product_code,
        product_description=order.product_description,
        planned_quantity=order.planned_quantity,
        due_date=order.due_date,
        route=order.route,
        notes=order.notes,
    )


def _change(change: OrderChange) -> OrderChangeOut:
    return OrderChangeOut(
        order_number=change.order_number,
        changes={name: [_plain(before), _plain(after)] for name, (before, after) in change.changes.items()},
    )


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, 'isoformat') else value


def _save(actor: Actor, orders: list[OrderIn], key: str | None, batch: bool) -> SaveReport:
    checked_key(actor.user_id, key)  # the key's form is checked; the save itself is idempotent by order number
    fields = []
    for i, order in enumerate(orders):
        try:
            fields.append(_fields(order))
        except InvalidInput as exc:
            if not batch:
                raise
            first = exc.errors[0] if isinstance(exc, InvalidFields) else exc
            raise InvalidInput(f'orders[{i}]: {first.message}', field=f'orders[{i}].{first.field}') from exc
    return save_from_api(actor, fields)


@router.post(
    '/orders',
    response_model=OrderSaveOut,
    status_code=200,
    responses={201: {'model': OrderSaveOut, 'description': 'At least one order was new.'}},
    summary='Put orders into the order book (one, or a batch of up to 1000)',
)
async def post_orders(
    token: Token,
    response: Response,
    body: Annotated[OrdersBody, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_KEY_HEADER,
            description='Optional. Orders are saved by order number, so a retry changes nothing whatever the key.',
        ),
        WithJsonSchema(IDEMPOTENCY_KEY_SCHEMA),
    ] = None,
) -> OrderSaveOut:
    """New orders are created (source "api"), open ones updated, closed and cancelled ones left as they are
    and listed. All or nothing: one refused order refuses the batch, and the error's field names it
    (`orders[3].planned_quantity`). Needs an admin's token."""
    orders = body.orders if isinstance(body, OrderBatchIn) else [body]
    report = await as_writer(token, _save, orders, idempotency_key, isinstance(body, OrderBatchIn))
    response.status_code = 201 if report.created else 200
    return OrderSaveOut(
        created=report.created,
        updated=[_change(c) for c in report.updated],
        unchanged=report.unchanged,
        not_open=[_change(c) for c in report.not_open],
    )


@router.get('/orders/{number}', response_model=OrderOut, responses=ORDER_NOT_FOUND, summary='One order of the book')
async def get_one_order(token: Token, number: Annotated[str, Path(max_length=160)]) -> OrderOut:
    row: OrderRow = await as_caller(token, get_order, number)
    p = row.progress
    route_length = len(route_codes(row.route))
    return OrderOut(
        order_number=row.order_number,
        product_code=row.product_code,
        product_description=row.product_description,
        planned_quantity=row.planned_quantity,
        due_date=row.due_date,
        route=row.route,
        status=row.status,
        source=row.source,
        started=p.started,
        wip=p.wip,
        in_transit=p.in_transit,
        scrapped=p.scrapped,
        reworked=p.reworked,
        finished=p.finished,
        yield_percent=None if p.yield_percent is None else round(p.yield_percent, 1),
        closable=row.status == 'open' and p.closable(row.planned_quantity),
        late=row.late,
        steps=[_step(s, i + 1 if i < route_length else None) for i, s in enumerate(p.steps) if s.shown],
    )


def _step(s: StepPieces, position: int | None) -> OrderStepOut:
    return OrderStepOut(
        work_center=s.code,
        name=s.name,
        position=position,
        received=s.qty_in,
        wip=s.held,
        in_transit=s.in_transit,
        in_transit_since=s.transit_since if s.in_transit else None,
        in_transit_old=s.transit_old,
        scrapped=s.qty_scrap,
        reworked=s.qty_rework,
        sent_on=s.sent_on,
        qty_in=s.qty_in,
        qty_out=s.qty_out,
        held=s.held,
    )
