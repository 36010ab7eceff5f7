"""The admin console's rules on departments, work centers and corrections, as an administrator meets them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import Department
from potrack.errors import Conflict, InsufficientBalance, InvalidInput, NeedsConfirmation, NotAllowed, NotFound
from potrack.ledger.balances import work_center_totals
from potrack.ledger.corrections import correct_movement, find_movements
from potrack.ledger.integrity import check_consistency
from potrack.ledger.search import MovementFilter, search_movements
from potrack.ledger.writer import record_movement
from potrack.masters.audit_trail import AuditFilter, list_events
from potrack.masters.catalog import create_department, create_work_center, list_departments, list_work_centers
from potrack.masters.departments import set_department_active, set_department_work_centers, update_department
from potrack.masters.work_centers import list_work_centers_admin, set_work_center_active, update_work_center
from potrack.timeutil import local_today
from tests.test_admin_services import heard


def dept_id(db: Database, name: str) -> int:
    with db.read() as s:
        return s.exec(select(Department).where(Department.name == name)).one().id or 0


def last_event(admin: Actor, action: str):  # type: ignore[no-untyped-def]
    return list_events(admin, AuditFilter(action=action)).rows[0]


def codes(actor: Actor, *, active_only: bool = False) -> list[str]:
    return [wc.code for wc in list_work_centers(actor, active_only=active_only)]


def test_department_names_are_unique_ignoring_case(db: Database, admin: Actor) -> None:
    with pytest.raises(Conflict, match='A department named "PRODUCTION" already exists.') as err:
        create_department(admin, name='  PRODUCTION ')
    assert err.value.field == 'name'
    packing = create_department(admin, name='Packing', description='End of line')
    with pytest.raises(Conflict, match='A department named "quality control" already exists.'):
        update_department(admin, department_id=packing.id, name='quality control')
    renamed = update_department(admin, department_id=packing.id, name='PACKING', description='')
    assert (renamed.name, renamed.description) == ('PACKING', '')
    event = last_event(admin, 'department.update')
    assert (event.record, event.changes) == ('PACKING', ['description: End of line → —', 'name: Packing → PACKING'])


@pytest.mark.parametrize(
    ('name', 'description', 'field', 'message'),
    [
        ('', '', 'name', 'The department name is required.'),
        ('x' * 61, '', 'name', 'The department name has at most 60 characters; this has 61.'),
        ('Packing', 'y' * 201, 'description', 'The description has at most 200 characters; this has 201.'),
    ],
)
def test_department_fields_are_checked(db: Database, admin: Actor, name, description, field, message) -> None:
    with pytest.raises(InvalidInput, match=message) as err:
        update_department(admin, department_id=dept_id(db, 'Production'), name=name, description=description)
    assert err.value.field == field
    assert 'Production' in [d.name for d in list_departments(admin)]


def test_department_work_centers_change_what_its_users_see_at_once(db: Database, admin: Actor, make_user, wc) -> None:
    anita, quinn = make_user('anita'), make_user('quinn', 'Quality Control')
    assert codes(anita) == ['WC001', 'WC002', 'WC003', 'WC004']
    with heard(db) as changes:
        info = set_department_work_centers(
            admin, department_id=dept_id(db, 'Production'), work_center_ids=[wc('WC002'), wc('WC005')]
        )
    assert [c.kind for c in changes] == ['masters']
    assert info.work_center_ids == (wc('WC002'), wc('WC005'))
    assert codes(anita) == ['WC002', 'WC005']
    assert codes(quinn) == ['WC005']  # other departments keep theirs
    with pytest.raises(NotAllowed, match="WC001 Assembly is not one of your department's work centers"):
        record_movement(anita, work_center_id=wc('WC001'), order_number='PO-1', quantity=1, movement_type='IN')
    booked = record_movement(anita, work_center_id=wc('WC005'), order_number='PO-1', quantity=1, movement_type='IN')
    assert (booked.work_center_code, booked.balance, booked.already_recorded) == ('WC005', 1, False)
    event = last_event(admin, 'department.work_centers')
    assert event.changes == ['work centers: WC001, WC002, WC003, WC004 → WC002, WC005']
    with pytest.raises(NotFound, match='One of the chosen work centers does not exist.'):
        set_department_work_centers(admin, department_id=dept_id(db, 'Production'), work_center_ids=[999])


def test_deactivated_department_sees_nothing_until_reactivated(db: Database, admin: Actor, make_user) -> None:
    anita = make_user('anita')
    production = dept_id(db, 'Production')
    info = set_department_active(admin, department_id=production, active=False)
    assert (info.is_active, info.user_count) == (False, 1)
    assert codes(anita) == []
    set_department_active(admin, department_id=production, active=True)
    assert codes(anita) == ['WC001', 'WC002', 'WC003', 'WC004']
    actions = [e.action for e in list_events(admin, AuditFilter(entity='department')).rows[:2]]
    assert actions == ['department.activate', 'department.deactivate']


def test_work_center_codes_are_upper_case_and_unique(db: Database, admin: Actor) -> None:
    with heard(db) as changes:
        new = create_work_center(admin, code=' wc006 ', name='Packing', description='Boxes')
    assert (new.code, new.name, [c.kind for c in changes]) == ('WC006', 'Packing', ['masters'])
    with pytest.raises(Conflict, match='Work center code WC001 is already used.') as err:
        create_work_center(admin, code='wc001', name='Again')
    assert err.value.field == 'code'
    with pytest.raises(Conflict, match='Work center code WC002 is already used.'):
        update_work_center(admin, work_center_id=new.id, code='Wc002', name='Packing')
    created = last_event(admin, 'work_center.create')
    assert (created.actor_username, created.entity_id, created.record) == ('admin', str(new.id), 'WC006')
    assert created.after == {'code': 'WC006', 'name': 'Packing'}
    edited = update_work_center(admin, work_center_id=new.id, code='wc-pack', name='Packing line', description='')
    assert (edited.code, edited.name) == ('WC-PACK', 'Packing line')
    assert last_event(admin, 'work_center.update').changes == [
        'code: WC006 → WC-PACK',
        'description: Boxes → —',
        'name: Packing → Packing line',
    ]


@pytest.mark.parametrize(
    ('code', 'name', 'field', 'message'),
    [
        ('', 'Packing', 'code', 'A work center code has 1 to 20 letters'),
        ('WC 6', 'Packing', 'code', 'A work center code has 1 to 20 letters'),
        ('W' * 21, 'Packing', 'code', 'A work center code has 1 to 20 letters'),
        ('WC006', ' ', 'name', 'The work center name is required.'),
        ('WC006', 'n' * 61, 'name', 'The work center name has at most 60 characters; this has 61.'),
    ],
)
def test_work_center_fields_are_checked(db: Database, admin: Actor, code, name, field, message) -> None:
    with pytest.raises(InvalidInput, match=message) as err:
        create_work_center(admin, code=code, name=name)
    assert err.value.field == field
    assert len(list_work_centers_admin(admin)) == 5


def test_deactivating_a_work_center_holding_pieces_needs_confirmation(db: Database, admin, make_user, wc) -> None:
    anita = make_user('anita')
    for order, qty in (('PO-1', 20), ('PO-2', 5)):
        record_movement(anita, work_center_id=wc('WC002'), order_number=order, quantity=qty, movement_type='IN')
    with pytest.raises(NeedsConfirmation) as err:
        set_work_center_active(admin, work_center_id=wc('WC002'), active=False)
    assert (err.value.pieces, err.value.orders) == (25, 2)
    assert err.value.message.startswith('WC002 Machining still holds 25 pieces in 2 open orders.')
    assert codes(anita, active_only=True) == ['WC001', 'WC002', 'WC003', 'WC004']
    info = set_work_center_active(admin, work_center_id=wc('WC002'), active=False, confirm=True)
    assert not info.is_active
    assert codes(anita, active_only=True) == ['WC001', 'WC003', 'WC004']
    with pytest.raises(NotAllowed, match='WC002 Machining is deactivated; nothing was recorded.'):
        record_movement(anita, work_center_id=wc('WC002'), order_number='PO-1', quantity=1, movement_type='OUT')
    # still in history, balances and the admin's list
    assert search_movements(admin, MovementFilter(work_center_ids=(wc('WC002'),))).totals.count == 2
    [total] = work_center_totals(admin, work_center_ids=[wc('WC002')])
    assert (total.is_active, total.balance) == (False, 25)
    overview = {o.info.code: o for o in list_work_centers_admin(admin)}
    assert (overview['WC002'].pieces, overview['WC002'].info.is_active) == (25, False)
    assert last_event(admin, 'work_center.deactivate').after == {'is_active': False, 'pieces_held': 25}
    set_work_center_active(admin, work_center_id=wc('WC003'), active=False)  # empty: no question asked
    assert set_work_center_active(admin, work_center_id=wc('WC002'), active=True).is_active
    activated = last_event(admin, 'work_center.activate')
    assert (activated.actor_username, activated.entity_id) == ('admin', str(wc('WC002')))
    assert (activated.before, activated.after) == ({'is_active': False}, {'is_active': True, 'pieces_held': 25})


def test_every_master_data_service_refuses_an_operator(db: Database, make_user, wc) -> None:
    anita = make_user('anita')
    production = dept_id(db, 'Production')
    for call in (
        lambda: create_department(anita, name='X'),
        lambda: update_department(anita, department_id=production, name='X'),
        lambda: set_department_active(anita, department_id=production, active=False),
        lambda: set_department_work_centers(anita, department_id=production, work_center_ids=[]),
        lambda: create_work_center(anita, code='X1', name='X'),
        lambda: update_work_center(anita, work_center_id=wc('WC001'), code='X1', name='X'),
        lambda: set_work_center_active(anita, work_center_id=wc('WC001'), active=False),
        lambda: list_work_centers_admin(anita),
        lambda: list_departments(anita),
        lambda: find_movements(anita, MovementFilter()),
        lambda: correct_movement(anita, movement_id=1, reason='x'),
    ):
        with pytest.raises(NotAllowed, match='Only an administrator can do this.'):
            call()


def test_corrections_find_and_reverse_through_the_ledger(db: Database, admin: Actor, make_user, wc) -> None:
    anita, bob = make_user('anita'), make_user('bob')
    first = record_movement(anita, work_center_id=wc('WC001'), order_number='PO-12', quantity=40, movement_type='IN')
    record_movement(bob, work_center_id=wc('WC002'), order_number='PO-12', quantity=7, movement_type='IN')
    record_movement(anita, work_center_id=wc('WC001'), order_number='PO-99', quantity=3, movement_type='IN')
    page = find_movements(admin, MovementFilter(order='po-12', user_id=anita.user_id, date_from=local_today()))
    assert ([r.id for r in page.rows], page.total, page.reversed_by) == ([first.movement_id], 1, {})
    with pytest.raises(InvalidInput, match='A reason is required.') as err:
        correct_movement(admin, movement_id=first.movement_id, reason=' ')
    assert err.value.field == 'reason'
    reversal = correct_movement(admin, movement_id=first.movement_id, reason='scanned the wrong order')
    assert (reversal.quantity, reversal.reverses_id, reversal.balance) == (-40, first.movement_id, 0)
    page = find_movements(admin, MovementFilter(order='PO-12', work_center_ids=(wc('WC001'),)))
    assert page.reversed_by == {first.movement_id: reversal.movement_id} and page.total == 2
    with pytest.raises(Conflict, match=f'Movement #{first.movement_id} was already reversed'):
        correct_movement(admin, movement_id=first.movement_id, reason='again')
    event = last_event(admin, 'movement.reverse')
    assert event.record == f'#{first.movement_id} PO-12 at WC001'
    assert event.after['reason'] == 'scanned the wrong order'
    assert find_movements(admin, MovementFilter(date_from=local_today() + timedelta(days=1))).total == 0
    assert check_consistency(db).consistent


def test_a_reversal_that_would_make_a_balance_negative_is_refused_with_the_numbers(
    db: Database, admin: Actor, make_user, wc
) -> None:
    anita = make_user('anita')
    got = record_movement(anita, work_center_id=wc('WC002'), order_number='PO-3', quantity=30, movement_type='IN')
    record_movement(anita, work_center_id=wc('WC002'), order_number='PO-3', quantity=25, movement_type='OUT')
    with pytest.raises(InsufficientBalance) as err:
        correct_movement(admin, movement_id=got.movement_id, reason='typo')
    assert err.value.message == (
        'Cannot reverse the IN of 30 pieces of PO-3 at WC002: only 5 are still there (25 have been sent on).'
    )
    assert find_movements(admin, MovementFilter(order='PO-3')).total == 2
    assert check_consistency(db).consistent
