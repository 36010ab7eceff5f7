"""The REST API under /api/v1: record movements, read balances, movements and work centers.

A request carries `Authorization: Bearer pt_...` (a token an admin issued in the Admin page) and acts
as that token's user, within that user's department scope. Handlers are thin: they translate HTTP to
the same service calls the pages make, off the event loop, and the services decide everything.
"""

from __future__ import annotations

import logging
import math
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import WithJsonSchema

from potrack.api.errors import BUSY, COMMON_RESPONSES, CONFLICT, NOT_FOUND, ApiRoute
from potrack.api.gate import Busy
from potrack.api.schemas import (
    BalancePageOut,
    BalanceRowOut,
    ErrorBody,
    MovementIn,
    MovementOut,
    MovementPageOut,
    MovementRowOut,
    Totals,
    WorkCenterOut,
    WorkCenterTotalOut,
)

# as_writer and offload are re-exported: the orders routes and the API app take them from here.
from potrack.api.workers import as_caller, as_writer_in_turn, movement_turns
from potrack.api.workers import as_writer as as_writer
from potrack.api.workers import offload as offload
from potrack.common.actors import Actor
from potrack.common.paging import MAX_PAGE_SIZE
from potrack.common.validation import REQUEST_ID_RE, normalize_order_number, shown
from potrack.common.work_center_codes import work_center_ids
from potrack.config import Settings, settings
from potrack.errors import Conflict, InvalidInput, NotFound, PotrackError, SignedOut
from potrack.ledger.balances import order_balances, work_center_totals
from potrack.ledger.search import MovementFilter, MovementPage, search_movements
from potrack.ledger.writer import MovementResult, record_movement
from potrack.masters.catalog import list_work_centers
from potrack.masters.reasons import list_reasons

log = logging.getLogger(__name__)
IDEMPOTENCY_KEY_MAX_LEN = 40  # the ledger's request id holds 64; the rest is the per-user prefix
IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key'
# The key as the schema declares it: what _request_id takes (REQUEST_ID_RE, at most the length above).
IDEMPOTENCY_KEY_PATTERN = f'^{REQUEST_ID_RE.pattern}$'
EARLIEST_DAY, LATEST_DAY = date(2000, 1, 1), date(2999, 12, 31)
# _check_day's years as a pattern, for the schema: JSON Schema has no bounds for a date.
DAY_PATTERN = '^2[0-9]{3}-[0-9]{2}-[0-9]{2}$'

bearer = HTTPBearer(auto_error=False, description='An API token issued in the Admin page ("pt_...").')
API_V1 = '/api/v1'
MOVEMENTS_PATH = f'{API_V1}/movements'
router = APIRouter(prefix=API_V1, route_class=ApiRoute, responses=COMMON_RESPONSES, tags=['potrack'])


async def bearer_token(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> str:
    if credentials is None:
        raise SignedOut('Send an API token: Authorization: Bearer pt_...')
    return credentials.credentials


Token = Annotated[str, Depends(bearer_token)]
Offset = Annotated[int, Query(ge=0, le=10_000_000)]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
WorkCenterCodes = Annotated[list[str], Query(description='Work center codes; repeat for several.', max_length=50)]
Match = Annotated[Literal['prefix', 'contains', 'exact'], Query()]
OrderText = Annotated[str, Query(max_length=40)]
# Declared, not enforced by FastAPI: _request_id and _check_day refuse with sentences that name the limit,
# and the hot path (potrack.api.fast) gets the same refusal from _request_id.
IDEMPOTENCY_KEY_SCHEMA = {
    'type': 'string',
    'minLength': 1,
    'maxLength': IDEMPOTENCY_KEY_MAX_LEN,
    'pattern': IDEMPOTENCY_KEY_PATTERN,
}
Day = WithJsonSchema({'type': 'string', 'format': 'date', 'pattern': DAY_PATTERN})


def _request_id(user_id: int, key: str | None) -> str | None:
    if key is None:
        return None
    text = key.strip()
    if not text or len(text) > IDEMPOTENCY_KEY_MAX_LEN or not REQUEST_ID_RE.fullmatch(text):
        raise InvalidInput(
            f'The Idempotency-Key header takes 1 to {IDEMPOTENCY_KEY_MAX_LEN} letters, digits or - _ . : '
            'characters (a UUID fits).',
            field=IDEMPOTENCY_KEY_HEADER,
        )
    # Per-user namespace: two clients that both pick "1" must not collide with each other.
    return f'api{user_id}:{text}'


def _record(actor: Actor, body: MovementIn, idempotency_key: str | None) -> MovementResult:
    (wc_id,) = work_center_ids([body.work_center])
    try:
        return record_movement(
            actor,
            work_center_id=wc_id,
            order_number=body.order_number,
            quantity=body.quantity,
            movement_type=body.type,
            disposition=body.disposition,
            reason_id=body.reason_id,
            rework_to=_rework_target(body.rework_to),
            request_id=_request_id(actor.user_id, idempotency_key),
            start_order=body.create_order,
            source='api',
        )
    except InvalidInput as exc:
        if exc.field in FLOW_FIELDS:
            raise _flow_refusal(actor, body, exc) from exc
        raise


# The ledger's refusals about the flow's choices. MovementIn has already checked their shape (a reason
# with scrap and rework, a target with rework, no disposition on an IN), so here they are about the data:
# a reason that is not there or not of this kind, a step that is not earlier on this order's route.
FLOW_FIELDS = ('reason', 'rework_to', 'disposition')


def _rework_target(code: str | None) -> int | None:
    if code is None:
        return None
    try:
        (target,) = work_center_ids([code])
    except NotFound as exc:
        raise NotFound(exc.message, field='rework_to') from exc
    return target


def _flow_refusal(actor: Actor, body: MovementIn, exc: InvalidInput) -> PotrackError:
    """A 404 for a reason that does not exist (or is retired), else a 409 with the ledger's sentence."""
    if exc.field != 'reason':
        return Conflict(exc.message, field=exc.field)
    reason = next((r for r in list_reasons(actor) if r.id == body.reason_id), None)
    if reason is None:
        return NotFound(f'There is no reason {body.reason_id} in use; Admin → Reasons lists them.', field='reason_id')
    return Conflict(
        f'Reason {reason.code} ({reason.label}) is for {reason.kind}, not for {body.disposition}.', field='reason_id'
    )


def _check_day(day: date | None, field: str) -> None:
    if day is not None and not EARLIEST_DAY <= day <= LATEST_DAY:
        raise InvalidInput(f'Choose a day between {EARLIEST_DAY} and {LATEST_DAY}.', field=field)


MOVEMENT_CONFLICT = {
    409: {
        'model': ErrorBody,
        'description': f'{CONFLICT[409]["description"]} `insufficient_balance` also when an IN is above what was '
        'sent to the work center. `conflict` also when the reason is not for this disposition, or rework_to is '
        "not an earlier step of the order's route.",
    }
}


@router.post(
    '/movements',
    status_code=201,
    response_model=MovementOut,
    responses={
        **NOT_FOUND,
        **MOVEMENT_CONFLICT,
        **BUSY,
        200: {'model': MovementOut, 'description': 'A retry: the original result.'},
    },
    summary='Record an IN or OUT',
)
async def post_movement(
    body: MovementIn,
    token: Token,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_KEY_HEADER,
            description='Makes a retry safe: the same key and content return the first result (200); '
            f'the same key with other content is refused (409). 1 to {IDEMPOTENCY_KEY_MAX_LEN} letters, digits '
            'or - _ . : characters, such as a UUID.',
        ),
        WithJsonSchema(IDEMPOTENCY_KEY_SCHEMA),
    ] = None,
) -> MovementOut:
    # Well-formed requests are answered by potrack.api.fast before they reach this route; both record
    # through record_via_api.
    response.status_code, out = await record_via_api(token, body, idempotency_key)
    return out


async def record_via_api(token: str, body: MovementIn, idempotency_key: str | None) -> tuple[int, MovementOut]:
    """Record a movement as the token's user: (201, the movement), or (200, the first one) for a retry.

    Raises Busy when another movement of the same order at the same work center is still being recorded
    on this instance after POTRACK_API_TURN_WAIT_MS; the domain errors of `record_movement` otherwise.
    """
    key = _balance_row(body)
    cfg = settings()
    if not await movement_turns.enter(key, cfg.api_turn_wait_ms / 1000):
        await as_caller(token, lambda actor: None)  # a bad token is told so (401), not that the row is busy
        raise _busy(key, cfg)
    result = await as_writer_in_turn(key, token, _record, body, idempotency_key)
    return 200 if result.already_recorded else 201, MovementOut(
        id=result.movement_id,
        order_number=result.order_number,
        work_center=result.work_center_code,
        type=result.movement_type,
        quantity=result.quantity,
        created_at=result.created_at,
        balance=result.balance,
        qty_in=result.qty_in,
        qty_out=result.qty_out,
        already_recorded=result.already_recorded,
        disposition=result.disposition,
        to_work_center=result.to_work_center_code,
        transit_qty=result.transit_qty,
        reason_id=result.reason_id,
        flag=result.flag,
    )


def _balance_row(body: MovementIn) -> tuple[str, str]:
    """(work center code, order number) as the ledger will read them: the balance row the movement locks."""
    try:
        order = normalize_order_number(body.order_number)
    except InvalidInput:
        order = body.order_number  # refused by the ledger in its turn, with its own message
    return body.work_center.strip().upper(), order


def _busy(key: tuple[str, str], cfg: Settings) -> Busy:
    work_center, order = key
    # The first in line waits on the row for at most a lock_timeout per attempt; by then the line has moved.
    retry_after_s = max(1, math.ceil(cfg.lock_timeout_ms / 1000))
    log.warning(
        'POST of a movement of %r at %r refused as busy: no turn within %d ms', order, work_center, cfg.api_turn_wait_ms
    )
    return Busy(
        f'Not saved — another entry of {shown(order)} at {shown(work_center)} is still being saved. '
        f'Nothing was recorded; send it again in {retry_after_s} s (with the same Idempotency-Key).',
        retry_after_s=retry_after_s,
    )


@router.get('/movements', response_model=MovementPageOut, responses=NOT_FOUND, summary='Search movements')
async def get_movements(
    token: Token,
    order: OrderText = '',
    match: Match = 'prefix',
    work_center: WorkCenterCodes = [],  # noqa: B006  (FastAPI copies defaults per request)
    date_from: Annotated[date | None, Query(description='First local calendar day, included.'), Day] = None,
    date_to: Annotated[date | None, Query(description='Last local calendar day, included.'), Day] = None,
    type: Annotated[Literal['IN', 'OUT'] | None, Query()] = None,
    user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    sort: Annotated[
        Literal['created_at', 'order_number', 'work_center', 'quantity', 'movement_type', 'user'], Query()
    ] = 'created_at',
    descending: bool = True,
    offset: Offset = 0,
    limit: Limit = 100,
) -> MovementPageOut:
    _check_day(date_from, 'date_from')
    _check_day(date_to, 'date_to')

    def search(actor: Actor) -> MovementPage:
        ids = work_center_ids(work_center) if work_center else []
        flt = MovementFilter(order, match, tuple(ids), date_from, date_to, type, user_id)
        return search_movements(actor, flt, sort=sort, descending=descending, offset=offset, limit=limit)

    page = await as_caller(token, search)
    t = page.totals
    return MovementPageOut(
        offset=page.offset,
        limit=page.limit,
        totals=Totals(count=t.count, qty_in=t.qty_in, qty_out=t.qty_out, net=t.net),
        rows=[
            MovementRowOut(
                id=r.id,
                created_at=r.created_at,
                order_number=r.order_number,
                work_center=r.work_center_code,
                work_center_name=r.work_center_name,
                type=r.movement_type,
                quantity=r.quantity,
                user_id=r.user_id,
                username=r.username,
                user_full_name=r.user_full_name,
                department=r.department_name,
                reverses_id=r.reverses_id,
                reason=r.reason,
            )
            for r in page.rows
        ],
    )


@router.get('/balances', response_model=BalancePageOut, responses=NOT_FOUND, summary='Balances per order')
async def get_balances(
    token: Token,
    order: OrderText = '',
    match: Match = 'prefix',
    work_center: WorkCenterCodes = [],  # noqa: B006
    open_only: bool = True,
    sort: Annotated[
        Literal['last_movement_at', 'order_number', 'work_center', 'balance', 'qty_in', 'qty_out'], Query()
    ] = 'last_movement_at',
    descending: bool = True,
    offset: Offset = 0,
    limit: Limit = 100,
) -> BalancePageOut:
    page = await as_caller(
        token,
        lambda actor: order_balances(
            actor,
            work_center_ids=work_center_ids(work_center) if work_center else None,
            order=order,
            match=match,
            open_only=open_only,
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
        ),
    )
    rows = [
        BalanceRowOut(
            work_center=r.work_center_code,
            order_number=r.order_number,
            qty_in=r.qty_in,
            qty_out=r.qty_out,
            balance=r.balance,
            last_movement_at=r.last_movement_at,
            last_username=r.last_username,
        )
        for r in page.rows
    ]
    return BalancePageOut(total=page.total, offset=page.offset, limit=page.limit, rows=rows)


@router.get('/balances/work-centers', response_model=list[WorkCenterTotalOut], summary='Totals per work center')
async def get_work_center_totals(token: Token) -> list[WorkCenterTotalOut]:
    totals = await as_caller(token, work_center_totals)
    return [
        WorkCenterTotalOut(
            work_center=t.code,
            name=t.name,
            is_active=t.is_active,
            qty_in=t.qty_in,
            qty_out=t.qty_out,
            balance=t.balance,
            open_orders=t.open_orders,
        )
        for t in totals
    ]


@router.get('/work-centers', response_model=list[WorkCenterOut], summary='Work centers this token may use')
async def get_work_centers(token: Token, active_only: bool = False) -> list[WorkCenterOut]:
    rows = await as_caller(token, list_work_centers, active_only=active_only)
    return [
        WorkCenterOut(id=w.id, code=w.code, name=w.name, description=w.description, is_active=w.is_active) for w in rows
    ]
