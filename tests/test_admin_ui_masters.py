"""The admin console's Departments, Work centers, Corrections and Audit trail tabs, as an admin uses them."""

from __future__ import annotations

from collections.abc import Callable

from nicegui.testing import User

from potrack.db import Database
from potrack.ledger.writer import record_movement
from potrack.masters.catalog import create_department, create_work_center, list_departments, list_work_centers
from potrack.masters.work_centers import list_work_centers_admin
from tests.admin_ui_helpers import (
    choose,
    click,
    column,
    element,
    enabled,
    eventually_equal,
    field_error,
    fill,
    handled,
    open_admin,
    present,
    row_where,
    text,
)


async def test_create_and_rename_a_department(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user, 'departments')
    await click(user, 'dept-new')
    fill(user, dept_name='', dept_description='x' * 201)
    await click(user, 'dept-dialog-save')
    assert field_error(user, 'dept-name') == 'The department name is required.'
    assert field_error(user, 'dept-description') == 'The description has at most 200 characters; this has 201.'
    fill(user, dept_name='N' * 61, dept_description='')
    await click(user, 'dept-dialog-save')
    assert field_error(user, 'dept-name') == 'The department name has at most 60 characters; this has 61.'
    fill(user, dept_name='  quality CONTROL ')
    await click(user, 'dept-dialog-save')
    assert field_error(user, 'dept-name') == 'A department named "quality CONTROL" already exists.'
    fill(user, dept_name='Packing', dept_description='End of line')
    await click(user, 'dept-dialog-save')
    await user.should_see('Department Packing saved.')
    row = row_where(user, 'departments-table', name='Packing')
    assert (row['work_centers'], row['users'], row['status']) == ('—', 0, 'active')
    assert element(user, 'departments-table').selected == [row]
    await click(user, 'dept-edit')
    assert element(user, 'dept-name').value == 'Packing'
    fill(user, dept_name='Production')
    await click(user, 'dept-dialog-save')
    assert field_error(user, 'dept-name') == 'A department named "Production" already exists.'
    fill(user, dept_name='PACKING')
    await click(user, 'dept-dialog-save')
    assert 'PACKING' in column(user, 'departments-table', 'name')


async def test_cancel_discards_a_new_department(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user, 'departments')
    await click(user, 'dept-new')
    fill(user, dept_name='Packing')
    await click(user, 'dept-dialog-cancel')
    assert not present(user, 'dept-dialog')
    assert 'Packing' not in column(user, 'departments-table', 'name')


async def test_cancel_discards_a_department_rename(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user, 'departments')
    await choose(user, 'departments-table', name='Production')
    await click(user, 'dept-edit')
    fill(user, dept_name='Packing', dept_description='End of line')
    await click(user, 'dept-dialog-cancel')
    assert not present(user, 'dept-dialog')
    assert 'Packing' not in column(user, 'departments-table', 'name')
    assert 'Production' in [d.name for d in list_departments(admin)]
    await click(user, 'dept-edit')
    assert element(user, 'dept-name').value == 'Production'  # the cancelled text is gone


async def test_choose_the_work_centers_a_department_sees(user: User, sqlite_db: Database, make_user, admin) -> None:
    anita = make_user('anita')
    await open_admin(user, make_user, 'departments')
    assert not enabled(user, 'dept-links')
    await choose(user, 'departments-table', name='Production')
    await click(user, 'dept-links')
    fill(user, link_WC001=False, link_WC005=True)
    await click(user, 'links-dialog-cancel')
    assert row_where(user, 'departments-table', name='Production')['work_centers'] == 'WC001, WC002, WC003, WC004'
    await click(user, 'dept-links')
    assert element(user, 'link-WC001').value is True  # the cancelled choice is gone
    fill(user, link_WC001=False, link_WC005=True)
    await click(user, 'links-dialog-save')
    await user.should_see('Production now sees 4 work centers.')
    assert row_where(user, 'departments-table', name='Production')['work_centers'] == 'WC002, WC003, WC004, WC005'
    assert [wc.code for wc in list_work_centers(anita)] == ['WC002', 'WC003', 'WC004', 'WC005']


async def test_deactivate_and_reactivate_a_department(user: User, sqlite_db: Database, make_user, admin) -> None:
    anita = make_user('anita')
    await open_admin(user, make_user, 'departments')
    await choose(user, 'departments-table', name='Production')
    await click(user, 'dept-active')
    assert text(user, 'dept-active-dialog-message').startswith('Its 1 users will see no work centers')
    await click(user, 'dept-active-dialog-cancel')
    assert row_where(user, 'departments-table', name='Production')['status'] == 'active'
    await click(user, 'dept-active')
    await click(user, 'dept-active-dialog-save')
    assert row_where(user, 'departments-table', name='Production')['status'] == 'deactivated'
    assert list_work_centers(anita) == []
    assert text(user, 'dept-active') == 'Reactivate'
    await click(user, 'dept-active')
    await click(user, 'dept-active-dialog-save')
    assert row_where(user, 'departments-table', name='Production')['status'] == 'active'


async def test_create_and_edit_a_work_center(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user, 'work-centers')
    await click(user, 'wc-new')
    fill(user, wc_code='WC 6', wc_name='', wc_description='d' * 201)
    await click(user, 'wc-dialog-save')
    assert field_error(user, 'wc-code').startswith('A work center code has 1 to 20 letters')
    assert field_error(user, 'wc-name') == 'The work center name is required.'
    assert field_error(user, 'wc-description') == 'The description has at most 200 characters; this has 201.'
    fill(user, wc_code='wc001', wc_name='Packing', wc_description='')
    await click(user, 'wc-dialog-save')
    assert field_error(user, 'wc-code') == 'Work center code WC001 is already used.'
    assert field_error(user, 'wc-name') is None
    fill(user, wc_code='wc006', wc_name='Packing', wc_description='Boxes')
    await click(user, 'wc-dialog-save')
    row = row_where(user, 'work-centers-table', code='WC006')
    assert (row['name'], row['description'], row['pieces'], row['status']) == ('Packing', 'Boxes', 0, 'active')
    await click(user, 'wc-edit')
    fill(user, wc_name='N' * 61)
    await click(user, 'wc-dialog-save')
    assert field_error(user, 'wc-name') == 'The work center name has at most 60 characters; this has 61.'
    await click(user, 'wc-dialog-cancel')
    assert row_where(user, 'work-centers-table', code='WC006')['name'] == 'Packing'
    await click(user, 'wc-edit')
    fill(user, wc_name='Packing line')
    await click(user, 'wc-dialog-save')
    assert row_where(user, 'work-centers-table', code='WC006')['name'] == 'Packing line'


async def test_cancel_discards_a_new_work_center(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user, 'work-centers')
    await click(user, 'wc-new')
    fill(user, wc_code='WC006', wc_name='Packing', wc_description='Boxes')
    await click(user, 'wc-dialog-cancel')
    assert not present(user, 'wc-dialog')
    assert 'WC006' not in column(user, 'work-centers-table', 'code')
    assert len(list_work_centers_admin(admin)) == 5
    await click(user, 'wc-new')
    assert element(user, 'wc-code').value == ''  # a fresh dialog, not the cancelled one


async def test_deactivating_a_work_center_with_pieces_asks_first(
    user: User, sqlite_db: Database, make_user, admin, wc
) -> None:
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-1', quantity=25, movement_type='IN')
    await open_admin(user, make_user, 'work-centers')
    await choose(user, 'work-centers-table', code='WC003')
    await click(user, 'wc-active')  # empty: deactivated at once
    await user.should_see('Work center WC003 deactivated.')
    assert row_where(user, 'work-centers-table', code='WC003')['status'] == 'deactivated'
    await choose(user, 'work-centers-table', code='WC002')
    await click(user, 'wc-active')
    assert text(user, 'wc-confirm-message').startswith('WC002 Machining still holds 25 pieces in 1 open order.')
    await click(user, 'wc-confirm-cancel')
    assert row_where(user, 'work-centers-table', code='WC002')['status'] == 'active'
    await click(user, 'wc-active')
    await click(user, 'wc-confirm-save')
    row = row_where(user, 'work-centers-table', code='WC002')
    assert (row['status'], row['pieces']) == ('deactivated', 25)
    assert not next(o for o in list_work_centers_admin(admin) if o.info.code == 'WC002').info.is_active
    await click(user, 'wc-active')
    assert row_where(user, 'work-centers-table', code='WC002')['status'] == 'active'


async def test_reverse_a_movement_with_a_reason(user: User, sqlite_db: Database, make_user, admin, wc) -> None:
    anita = make_user('anita')
    first = record_movement(anita, work_center_id=wc('WC001'), order_number='PO-12', quantity=40, movement_type='IN')
    record_movement(anita, work_center_id=wc('WC001'), order_number='PO-99', quantity=5, movement_type='IN')
    await open_admin(user, make_user, 'corrections')
    assert text(user, 'corr-showing') == 'Showing 1–2 of 2'
    fill(user, corr_order='po-12')
    await click(user, 'corr-search')
    assert column(user, 'corrections-table', 'order') == ['PO-12']
    assert not enabled(user, 'corr-reverse')
    await choose(user, 'corrections-table', id=first.movement_id)
    await click(user, 'corr-reverse')
    await click(user, 'reverse-dialog-save')
    assert field_error(user, 'reverse-reason') == 'A reason is required.'
    await click(user, 'reverse-dialog-cancel')
    assert column(user, 'corrections-table', 'note') == ['']
    await click(user, 'corr-reverse')
    fill(user, reverse_reason='scanned the wrong order')
    await click(user, 'reverse-dialog-save')
    await user.should_see(f'Reversed #{first.movement_id}: IN 40 of PO-12. Balance at WC001 now 0.')
    notes = column(user, 'corrections-table', 'note')
    assert notes[0].endswith(f'#{first.movement_id}: scanned the wrong order')
    assert notes[1].startswith('reversed by #')
    assert column(user, 'corrections-table', 'qty') == [-40, 40]
    assert not enabled(user, 'corr-reverse')  # neither a reversal nor a reversed movement can be reversed


async def test_a_reversal_that_would_go_negative_is_refused_in_the_dialog(
    user: User, sqlite_db: Database, make_user, admin, wc
) -> None:
    got = record_movement(admin, work_center_id=wc('WC002'), order_number='PO-3', quantity=30, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-3', quantity=25, movement_type='OUT')
    await open_admin(user, make_user, 'corrections')
    await choose(user, 'corrections-table', id=got.movement_id)
    await click(user, 'corr-reverse')
    fill(user, reverse_reason='typo')
    await click(user, 'reverse-dialog-save')
    assert text(user, 'reverse-dialog-error') == (
        'Cannot reverse the IN of 30 pieces of PO-3 at WC002: only 5 are still there (25 have been sent on).'
    )
    assert present(user, 'reverse-dialog')


async def test_corrections_date_range_is_checked(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user, 'corrections')
    fill(user, corr_from='2026-03-10', corr_to='2026-03-01')
    await click(user, 'corr-search')
    assert field_error(user, 'corr-from') == 'The start date is after the end date.'
    fill(user, corr_from='not a day')
    await click(user, 'corr-search')
    assert field_error(user, 'corr-from') == 'Enter a date like 2026-03-31.'


async def test_audit_trail_shows_each_change_and_filters(user: User, sqlite_db: Database, make_user, admin) -> None:
    await open_admin(user, make_user, 'departments')
    await click(user, 'dept-new')
    fill(user, dept_name='Packing')
    await click(user, 'dept-dialog-save')
    await click(user, 'tab-audit')
    first = element(user, 'audit-table').rows[0]
    assert (first['who'], first['action'], first['record'], first['changes']) == (
        'boss',
        'Department created',
        'Department Packing',
        'name: Packing',
    )
    assert text(user, 'audit-showing') == 'Showing 1–14 of 14'  # 12 at first start, boss, Packing
    async with handled():
        fill(user, audit_who=admin.user_id + 1)  # boss
    assert text(user, 'audit-showing') == 'Showing 1–1 of 1'
    async with handled():
        fill(user, audit_who='', audit_entity='work_center')
    assert column(user, 'audit-table', 'action') == ['Work center created'] * 5
    async with handled():
        fill(user, audit_from='2026-03-10', audit_to='2026-03-01')
    assert field_error(user, 'audit-from') == 'The start date is after the end date.'


async def test_another_admins_master_data_change_appears_without_a_reload(
    user: User, sqlite_db: Database, make_user, admin
) -> None:
    await open_admin(user, make_user, 'work-centers')
    create_work_center(admin, code='WC006', name='Packing')
    create_department(admin, name='Packing', work_center_ids=[6])
    await eventually_equal(
        lambda: (
            row_where(user, 'work-centers-table', code='WC006')['departments'],
            row_where(user, 'departments-table', name='Packing')['work_centers'],
        ),
        ('Packing', 'WC006'),
        what="the new work center and department, linked, on the admin's open page",
    )
    assert column(user, 'work-centers-table', 'code')[-1] == 'WC006'


async def test_another_admins_reversal_appears_in_corrections_and_audit_without_a_reload(
    create_user: Callable[[], User], sqlite_db: Database, make_user, admin, wc
) -> None:
    first = record_movement(admin, work_center_id=wc('WC001'), order_number='PO-12', quantity=40, movement_type='IN')
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-99', quantity=5, movement_type='IN')
    anil, boss = create_user(), create_user()
    await open_admin(anil, make_user, 'corrections', name='anil')
    await open_admin(boss, make_user, 'audit')
    async with handled():
        fill(boss, audit_entity='production_order')
    assert column(boss, 'audit-table', 'action') == []
    await click(boss, 'tab-corrections')
    fill(boss, corr_order='PO-12')
    await click(boss, 'corr-search')
    await choose(boss, 'corrections-table', id=first.movement_id)
    fill(boss, corr_order='PO-99')  # typed but not searched: the live refresh keeps the searched filter
    assert enabled(boss, 'corr-reverse')

    await choose(anil, 'corrections-table', id=first.movement_id)
    await click(anil, 'corr-reverse')
    fill(anil, reverse_reason='scanned the wrong order')
    await click(anil, 'reverse-dialog-save')
    await anil.should_see(f'Reversed #{first.movement_id}: IN 40 of PO-12. Balance at WC001 now 0.')

    await eventually_equal(
        lambda: (column(boss, 'corrections-table', 'order'), column(boss, 'audit-table', 'action')),
        (['PO-12', 'PO-12'], ['Movement reversed']),
        what="the reversal on the other admin's corrections and audit trail",
    )
    assert column(boss, 'corrections-table', 'note')[1].startswith('reversed by #')
    assert not enabled(boss, 'corr-reverse')  # the chosen movement is reversed now
    assert text(boss, 'audit-showing') == 'Showing 1–1 of 1'


async def test_a_plain_movement_leaves_the_admin_tables_alone(
    user: User, sqlite_db: Database, make_user, admin, wc
) -> None:
    await open_admin(user, make_user, 'corrections')
    await click(user, 'tab-audit')
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-12', quantity=40, movement_type='IN')
    # A change the page does show, announced after the movement: once it is seen, so was the movement's notice.
    create_department(admin, name='Packing')
    await eventually_equal(lambda: column(user, 'audit-table', 'action')[0], 'Department created')
    assert column(user, 'corrections-table', 'order') == []  # shown on the next search, not on every movement
