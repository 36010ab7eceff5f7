"""Backup and restore: a database restored into a fresh one is consistent and has the same rows, on both databases."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from potrack.accounts.tokens import issue_token
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.migrate import current_revision, head_revision
from potrack.ledger.reversal import reverse_movement
from potrack.ledger.writer import record_movement
from potrack.ops.backup import PG_CUSTOM_MAGIC, SQLITE_MAGIC, BackupError, backup, restore, table_counts
from potrack.ops.upgrade import upgrade


def fill(db: Database, admin: Actor, make_user, wc) -> None:  # type: ignore[no-untyped-def]
    make_user('anita')
    issue_token(admin, user_id=admin.user_id, name='backup probe')
    for n in range(20):
        record_movement(admin, work_center_id=wc('WC001'), order_number=f'PO-B{n % 5}', quantity=3, movement_type='IN')
    out = record_movement(admin, work_center_id=wc('WC001'), order_number='PO-B1', quantity=2, movement_type='OUT')
    reverse_movement(admin, movement_id=out.movement_id, reason='counted twice')


def test_backup_then_restore_into_a_fresh_database(
    db: Database, empty_target: Database, tmp_path: Path, admin, make_user, wc
):
    fill(db, admin, make_user, wc)
    file = tmp_path / 'backups' / 'potrack.backup'
    counts = backup(db, file)
    assert file.read_bytes().startswith(PG_CUSTOM_MAGIC if db.is_postgres else SQLITE_MAGIC)
    assert counts['production_order'] == 22 and counts['api_token'] == 1
    assert not list(file.parent.glob('*.partial'))

    result = restore(empty_target, file)
    assert result.check.consistent
    assert result.counts == counts == table_counts(empty_target)
    with empty_target.engine.connect() as conn:
        balance = conn.execute(text("SELECT qty_in, qty_out FROM order_balance WHERE order_number = 'PO-B1'")).one()
    assert tuple(balance) == (12, 0)


def test_restore_refuses_a_database_with_data_unless_forced(db: Database, tmp_path: Path, admin, make_user, wc):
    fill(db, admin, make_user, wc)
    file = tmp_path / 'potrack.backup'
    backup(db, file)
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-AFTER', quantity=1, movement_type='IN')
    with pytest.raises(BackupError, match='already has data'):
        restore(db, file)
    result = restore(db, file, force=True)
    assert result.check.consistent and result.counts['production_order'] == 22  # PO-AFTER is gone


def test_restore_refuses_foreign_and_missing_files(db: Database, tmp_path: Path) -> None:
    junk = tmp_path / 'notes.txt'
    junk.write_text('not a backup')
    with pytest.raises(BackupError, match='is not'):
        restore(db, junk, force=True)
    with pytest.raises(BackupError, match='no backup file'):
        restore(db, tmp_path / 'missing.backup')


def run_cli(url: str, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(('POTRACK_', 'DATABASE_URL'))}
    env.update(DATABASE_URL=url, POTRACK_DATA_DIR=str(data_dir))
    return subprocess.run(
        [sys.executable, '-m', 'potrack', *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_commands_back_up_restore_and_check(db: Database, empty_target: Database, tmp_path: Path, admin, wc):
    record_movement(admin, work_center_id=wc('WC003'), order_number='PO-CLI', quantity=7, movement_type='IN')
    file = tmp_path / 'cli.backup'
    made = run_cli(db.url, tmp_path, 'backup', '--out', str(file))
    assert made.returncode == 0, made.stderr
    assert f'wrote {file}: 1 production_order' in made.stdout
    restored = run_cli(empty_target.url, tmp_path, 'restore', str(file))
    assert restored.returncode == 0, restored.stderr
    assert 'consistent: 1 balance rows match 1 movements' in restored.stdout
    again = run_cli(empty_target.url, tmp_path, 'restore', str(file))
    assert again.returncode == 1 and 'already has data' in again.stderr
    checked = run_cli(empty_target.url, tmp_path, 'check')
    assert checked.returncode == 0 and checked.stdout.startswith('consistent: 1 balance rows')


def test_a_backup_made_before_order_activity_restores_fresh_and_over_a_newer_database(
    db: Database, empty_target: Database, tmp_path: Path, admin, make_user, wc
):
    # A database of revision 0003 is today's minus order_activity. Its backup, restored into a fresh
    # database and (forced) over today's database, is migrated on the way: consistent, times filled.
    fill(db, admin, make_user, wc)
    file = tmp_path / 'old.backup'
    try:
        with db.engine.begin() as conn:
            conn.execute(text('DROP TABLE order_activity'))
            conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
        counts = backup(db, file)
    finally:
        upgrade(db)  # the test database back to today's schema, its times filled again
    assert 'order_activity' not in counts
    for target in (empty_target, db):  # db: at head, with data, and its own order_activity rows
        result = restore(target, file, force=True)
        assert result.check.consistent, [m.describe() for m in result.check.mismatches]
        assert current_revision(target) == head_revision()
        assert result.counts['order_activity'] == 5  # PO-B0 … PO-B4
        assert {t: n for t, n in result.counts.items() if t != 'order_activity'} == counts
