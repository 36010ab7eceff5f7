"""The scrap and rework reasons: the list kiosks offer, and an admin keeping it (Admin → Reasons)."""

from __future__ import annotations

import json

import pytest
from nicegui.testing import User
from sqlmodel import select

from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.models import AuditEvent
from potrack.errors import Conflict, InvalidFields, InvalidInput, NotAllowed, NotFound
from potrack.masters.reasons import add_reason, edit_reason, list_reasons, set_reason_active
from tests.admin_ui_helpers import (
    choose,
    click,
    column,
    element,
    eventually_equal,
    field_error,
    fill,
    handled,
    open_admin,
    row_where,
    text,
)
from tests.test_admin_services import heard

BAD_CODE = 'A reason code has 1 to 20 letters, digits, - or _ (e.g. DIM);'


def codes(actor: Actor, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.code for r in list_reasons(actor, **kwargs)]


def audits(db: Database, action: str) -> list[AuditEvent]:
    with db.read() as s:
        return list(s.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all())


def test_operators_see_the_active_reasons_for_what_they_do_by_label(db: Database, admin: Actor, make_user) -> None:
    anita = make_user('anita')
    # The four a new site starts with: DIM and SURF for both, MAT and SETUP for scrap only.
    assert codes(anita) == ['DIM', 'MAT', 'SETUP', 'SURF']
    assert codes(anita, kind='scrap') == ['DIM', 'MAT', 'SETUP', 'SURF']
    assert codes(anita, kind='rework') == ['DIM', 'SURF']
    burr = add_reason(admin, code='burr', label='Burr left on edge', kind='rework')
    assert codes(anita, kind='rework') == ['BURR', 'DIM', 'SURF']  # "Burr left…" sorts before "Dimension…"
    assert 'BURR' not in codes(anita, kind='scrap')
    set_reason_active(admin, reason_id=burr.id, active=False)
    assert codes(anita, kind='rework') == ['DIM', 'SURF']
    assert 'BURR' in codes(admin, include_inactive=True)
    with pytest.raises(NotAllowed, match='Only an administrator'):
        list_reasons(anita, include_inactive=True)
    with pytest.raises(InvalidInput, match='Reasons are listed for scrap or for rework.'):
        list_reasons(anita, kind='sent')


def test_a_new_reason_is_checked_upper_cased_unique_and_audited(db: Database, admin: Actor) -> None:
    with heard(db) as changes:
        reason = add_reason(admin, code='  crk-1 ', label='  Crack found  ', kind='scrap')
    assert (reason.code, reason.label, reason.kind, reason.is_active) == ('CRK-1', 'Crack found', 'scrap', True)
    assert [c.kind for c in changes] == ['masters']  # open kiosks reload their lists
    [event] = audits(db, 'flow_reason.create')
    assert (event.actor_id, json.loads(event.after or '{}')) == (
        admin.user_id,
        {'code': 'CRK-1', 'label': 'Crack found', 'kind': 'scrap'},
    )
    with pytest.raises(Conflict, match='Reason code DIM is already used.') as err:
        add_reason(admin, code='dim', label='Again', kind='both')
    assert err.value.field == 'code'


@pytest.mark.parametrize(
    ('code', 'label', 'kind', 'messages'),
    [
        ('', 'x', 'scrap', {'code': 'Enter a reason code (e.g. DIM).'}),
        ('DIM 2', 'x', 'scrap', {'code': f'{BAD_CODE} "DIM 2" does not.'}),
        ('X' * 21, 'x', 'scrap', {'code': f'{BAD_CODE} "{"X" * 21}" does not.'}),
        ('OK', '', 'scrap', {'label': 'The reason text is required.'}),
        ('OK', 'y' * 81, 'scrap', {'label': 'The reason text has at most 80 characters; this has 81.'}),
        ('OK', 'x', 'sent', {'kind': 'Choose what the reason is for: scrap, rework or both.'}),
        ('', '', None, {
            'code': 'Enter a reason code (e.g. DIM).',
            'label': 'The reason text is required.',
            'kind': 'Choose what the reason is for: scrap, rework or both.',
        }),
    ],
)  # fmt: skip
def test_bad_reason_input_is_refused_field_by_field(db: Database, admin: Actor, code, label, kind, messages) -> None:
    with pytest.raises(InvalidInput) as err:
        add_reason(admin, code=code, label=label, kind=kind)
    errors = err.value.errors if isinstance(err.value, InvalidFields) else [err.value]
    assert {e.field: e.message for e in errors} == messages
    assert len(list_reasons(admin, include_inactive=True)) == 4  # nothing written


def test_an_edit_keeps_the_code_and_audits_what_changed(db: Database, admin: Actor, make_user) -> None:
    dim = next(r for r in list_reasons(admin) if r.code == 'DIM')
    edited = edit_reason(admin, reason_id=dim.id, label='Dimension out of tolerance', kind='scrap')
    assert (edited.code, edited.kind) == ('DIM', 'scrap')
    [event] = audits(db, 'flow_reason.update')
    assert (json.loads(event.before or '{}'), json.loads(event.after or '{}')) == ({'kind': 'both'}, {'kind': 'scrap'})
    edit_reason(admin, reason_id=dim.id, label='Dimension out of tolerance', kind='scrap')
    assert len(audits(db, 'flow_reason.update')) == 1  # a save without changes is no event
    with pytest.raises(NotFound, match='That reason does not exist.'):
        edit_reason(admin, reason_id=9999, label='x', kind='scrap')
    with pytest.raises(NotAllowed):
        edit_reason(make_user('anita'), reason_id=dim.id, label='x', kind='scrap')


def test_retiring_and_bringing_back_is_audited_once_each(db: Database, admin: Actor, make_user) -> None:
    mat = next(r for r in list_reasons(admin) if r.code == 'MAT')
    with pytest.raises(NotAllowed):
        set_reason_active(make_user('anita'), reason_id=mat.id, active=False)
    assert not set_reason_active(admin, reason_id=mat.id, active=False).is_active
    set_reason_active(admin, reason_id=mat.id, active=False)  # already retired: nothing happens
    assert set_reason_active(admin, reason_id=mat.id, active=True).is_active
    assert [len(audits(db, a)) for a in ('flow_reason.deactivate', 'flow_reason.activate')] == [1, 1]


async def test_an_admin_keeps_the_reasons_in_the_admin_console(
    user: User, sqlite_db: Database, make_user, admin: Actor
) -> None:
    await open_admin(user, make_user, 'reasons')
    await eventually_equal(lambda: column(user, 'reasons-table', 'code'), ['DIM', 'MAT', 'SETUP', 'SURF'])
    assert row_where(user, 'reasons-table', code='MAT')['kind_label'] == 'Scrap'
    await click(user, 'reason-new')
    fill(user, reason_code='dim', reason_label='')
    await click(user, 'reason-dialog-save')
    assert field_error(user, 'reason-label') == 'The reason text is required.'
    fill(user, reason_label='Burr on edge')
    await click(user, 'reason-dialog-save')
    assert field_error(user, 'reason-code') == 'Reason code DIM is already used.'
    fill(user, reason_code='burr', reason_kind='rework')
    await click(user, 'reason-dialog-save')
    await user.should_see('Reason BURR saved.')
    assert row_where(user, 'reasons-table', code='BURR')['kind_label'] == 'Rework'
    assert element(user, 'reasons-table').selected[0]['code'] == 'BURR'  # the new one is chosen
    assert codes(admin, kind='rework') == ['BURR', 'DIM', 'SURF']

    await choose(user, 'reasons-table', code='SETUP')
    await click(user, 'reason-active')
    await user.should_see('Reason SETUP retired.')
    assert row_where(user, 'reasons-table', code='SETUP')['status'] == 'retired'
    assert text(user, 'reason-active') == 'Bring back'
    assert 'SETUP' not in codes(admin, kind='scrap')

    await choose(user, 'reasons-table', code='DIM')
    await click(user, 'reason-edit')
    assert element(user, 'reason-label').value == 'Dimension out of tolerance'
    await user.should_not_see(marker='reason-code')  # a code stays what the movements call it
    fill(user, reason_label='Dimension off drawing')
    await click(user, 'reason-dialog-save')
    await eventually_equal(lambda: row_where(user, 'reasons-table', code='DIM')['label'], 'Dimension off drawing')

    async with handled():
        user.find(marker='reasons-search').type('surf')
    await eventually_equal(lambda: column(user, 'reasons-table', 'code'), ['SURF'], what='the search result')
    assert text(user, 'reasons-showing') == 'Showing 1–1 of 1'
