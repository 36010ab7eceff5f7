"""What a person may pick in report filters, and turning what they name into a MovementFilter.

Shared by the reports page, the Excel export and `potrack export`: periods are local calendar days (IST
unless POTRACK_TIMEZONE says otherwise), work centers are named by code and users by user name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import or_
from sqlmodel import col, select

from potrack.common.actors import Actor, load_user, visible_work_center_ids
from potrack.db.engine import Database, database
from potrack.db.models import User, WorkCenter, WorkCenterDepartment
from potrack.errors import InvalidInput
from potrack.ledger.search import MovementFilter

PERIODS = {
    'today': 'Today',
    'yesterday': 'Yesterday',
    'this-week': 'This week',
    'this-month': 'This month',
    'last-30-days': 'Last 30 days',
    'all': 'All dates',
    'custom': 'Custom dates',
}


def period_range(
    period: str, today: date, date_from: date | None = None, date_to: date | None = None
) -> tuple[date | None, date | None]:
    """The local calendar days (first, last; both included) a named period covers; weeks start on Monday.

    'custom' returns the dates given; 'all' returns (None, None). Raises InvalidInput for an unknown period.
    """
    starts = {
        'today': today,
        'yesterday': today - timedelta(days=1),
        'this-week': today - timedelta(days=today.weekday()),
        'this-month': today.replace(day=1),
        'last-30-days': today - timedelta(days=29),
    }
    if period in starts:
        return starts[period], today - timedelta(days=1) if period == 'yesterday' else today
    if period == 'all':
        return None, None
    if period == 'custom':
        return date_from, date_to
    raise InvalidInput(f'Choose a period: {", ".join(PERIODS.values())}.', field='period')


@dataclass(frozen=True)
class WorkCenterChoice:
    id: int
    code: str
    name: str
    is_active: bool


@dataclass(frozen=True)
class UserChoice:
    id: int
    username: str
    full_name: str


@dataclass(frozen=True)
class FilterChoices:
    work_centers: list[WorkCenterChoice]
    users: list[UserChoice]


def filter_choices(actor: Actor, *, db: Database | None = None) -> FilterChoices:
    """The work centers and users a person may pick in report filters: what they may see, and who works there.

    Admins get everyone; others the users of departments sharing one of their work centers, admins and
    themselves. Raises SignedOut.
    """
    db = db or database()
    with db.read() as session:
        user = load_user(session, actor)
        ids = visible_work_center_ids(session, user)
        centers = session.exec(select(WorkCenter).where(col(WorkCenter.id).in_(ids)).order_by(WorkCenter.code)).all()
        query = select(User.id, User.username, User.full_name).order_by(User.username)
        if not user.is_admin:
            sharing = select(WorkCenterDepartment.department_id).where(
                col(WorkCenterDepartment.work_center_id).in_(ids)
            )
            query = query.where(
                or_(col(User.department_id).in_(sharing), col(User.is_admin).is_(True), col(User.id) == user.id)
            )
        return FilterChoices(
            [WorkCenterChoice(wc.id or 0, wc.code, wc.name, wc.is_active) for wc in centers],
            [UserChoice(uid or 0, name, full) for uid, name, full in session.exec(query).all()],
        )


def build_filter(
    choices: FilterChoices,
    *,
    today: date,
    order: str = '',
    match: str = 'prefix',
    work_center_codes: tuple[str, ...] = (),
    period: str = 'all',
    date_from: date | None = None,
    date_to: date | None = None,
    movement_type: str | None = None,
    username: str | None = None,
) -> MovementFilter:
    """A MovementFilter from what a person names (codes, a user name, a period) within their choices.

    Raises InvalidInput naming the work center, user or period that is not one of the choices.
    """
    centers = {c.code.upper(): c.id for c in choices.work_centers}
    ids = []
    for code in work_center_codes:
        if code.strip().upper() not in centers:
            raise InvalidInput(f'{code} is not a work center you may see.', field='work_centers')
        ids.append(centers[code.strip().upper()])
    user_id = None
    if username:
        found = [u.id for u in choices.users if u.username == username.strip().lower()]
        if not found:
            raise InvalidInput(f'There is no user "{username}" among the people you may see.', field='user')
        user_id = found[0]
    first, last = period_range(period, today, date_from, date_to)
    kind = movement_type.upper() if movement_type else None
    return MovementFilter(order.strip(), match, tuple(sorted(set(ids))), first, last, kind, user_id)
