"""Backup and restore: a database restored into a fresh one is consistent and has the same rows, on both databases."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import make_url

from potrack.accounts.tokens import issue_token
from potrack.common.actors import Actor
from potrack.db import Database
from potrack.db.migrate import alembic_config, current_revision, head_revision
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
    readable = '1 movement, 1 balance, 1 order with activity, 1 order in the book, 0 transit rows, 0 site settings, '
    readable += '4 scrap and rework reasons, 0 product routes, 1 user, '
    readable += '6 departments, 5 work centers, '
    assert made.stdout.startswith(f'wrote {file}: {readable}23 department-work center links, ')
    assert made.stdout.endswith(', 0 sessions, 0 API tokens, 0 kiosk devices, 0 kiosk device-work center pins\n')
    restored = run_cli(empty_target.url, tmp_path, 'restore', str(file))
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.splitlines()[1].startswith(f'  {readable}')
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
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes['connection'] = conn
            command.downgrade(cfg, '0003')
        counts = backup(db, file)
    finally:
        upgrade(db)  # the test database back to today's schema, its times filled again
    later = {'order_activity', 'order_header', 'site_setting', 'order_transit', 'flow_reason', 'product_route'}
    later |= {'kiosk_device', 'kiosk_device_work_center'}
    assert not later & set(counts)
    for target in (empty_target, db):  # db: at head, with data, and its own order_activity rows
        result = restore(target, file, force=True)
        assert result.check.consistent, [m.describe() for m in result.check.mismatches]
        assert current_revision(target) == head_revision()
        assert result.counts['order_activity'] == 5  # PO-B0 … PO-B4
        # `later`: made by the migrations after 0003
        assert {t: n for t, n in result.counts.items() if t not in later} == counts


def only_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Nothing can be created in `folder`, by root either (chattr +i), as on read-only media."""
    as_root = os.geteuid() == 0
    folder.chmod(0o555)
    if as_root and (shutil.which('chattr') is None or subprocess.run(['chattr', '+i', str(folder)]).returncode):
        folder.chmod(0o755)
        pytest.skip('root cannot make a folder read-only here (chattr +i)')
    try:
        yield
    finally:
        if as_root:
            subprocess.run(['chattr', '-i', str(folder)], check=True)
        folder.chmod(0o755)


def old_style_backup(db: Database, file: Path) -> None:
    """A backup as potrack wrote it before it made them self-contained: the live file's WAL header kept."""
    with contextlib.closing(sqlite3.connect(make_url(db.url).database)) as src:
        with contextlib.closing(sqlite3.connect(file)) as dst:
            src.backup(dst)
    assert file.read_bytes()[18:20] == b'\x02\x02'  # WAL mode: a reader needs -wal and -shm beside it


@pytest.mark.parametrize('style', ['today', 'old'])
def test_a_restore_writes_nothing_beside_the_backup(sqlite_db: Database, tmp_path: Path, admin, wc, style: str):
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-RO', quantity=4, movement_type='IN')
    shelf = tmp_path / 'shelf'
    shelf.mkdir()
    if style == 'today':
        backup(sqlite_db, shelf / 'potrack.backup')
    else:
        old_style_backup(sqlite_db, shelf / 'potrack.backup')
    done = run_cli(f'sqlite:///{tmp_path / "target.db"}', tmp_path, 'restore', str(shelf / 'potrack.backup'))
    assert done.returncode == 0, done.stderr
    assert 'consistent: 1 balance rows match 1 movements' in done.stdout
    assert only_files(shelf) == ['potrack.backup']


@pytest.mark.parametrize('style', ['today', 'old'])
def test_a_backup_on_read_only_media_restores(sqlite_db: Database, tmp_path: Path, admin, wc, style: str) -> None:
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-RO', quantity=4, movement_type='IN')
    shelf = tmp_path / 'shelf'
    shelf.mkdir()
    (backup if style == 'today' else old_style_backup)(sqlite_db, shelf / 'potrack.backup')
    (shelf / 'potrack.backup').chmod(0o444)
    with read_only(shelf):
        done = run_cli(f'sqlite:///{tmp_path / "target.db"}', tmp_path, 'restore', str(shelf / 'potrack.backup'))
    assert done.returncode == 0, done.stderr
    assert 'consistent: 1 balance rows match 1 movements' in done.stdout
    assert only_files(shelf) == ['potrack.backup']


def bad_backups(folder: Path, good: Path) -> dict[str, Path]:
    """SQLite files a restore must refuse, each with the start of its one-line reason."""
    folder.mkdir()
    (folder / 'notes.txt').write_text('not a backup')
    (folder / 'cut.backup').write_bytes(good.read_bytes()[:5000])
    with contextlib.closing(sqlite3.connect(folder / 'foreign.db')) as conn:
        conn.execute('CREATE TABLE t (a)')
        conn.commit()
    (folder / 'newer.backup').write_bytes(good.read_bytes())
    with contextlib.closing(sqlite3.connect(folder / 'newer.backup')) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
        conn.commit()
    return {
        'is not an SQLite database file': folder / 'notes.txt',
        'is damaged': folder / 'cut.backup',
        'is not a potrack backup (it has no schema revision)': folder / 'foreign.db',
        'was made by a newer potrack (schema revision 9999) than this one (0.1.0)': folder / 'newer.backup',
        'There is no backup file': folder / 'missing.backup',
    }


def test_a_failed_restore_leaves_no_database_where_there_was_none(sqlite_db: Database, tmp_path: Path) -> None:
    good = tmp_path / 'good.backup'
    backup(sqlite_db, good)
    target = tmp_path / 'target'
    target.mkdir()
    for reason, file in bad_backups(tmp_path / 'bad', good).items():
        done = run_cli(f'sqlite:///{target / "potrack.db"}', tmp_path, 'restore', str(file))
        assert (done.returncode, done.stdout) == (1, ''), file
        assert done.stderr.startswith('potrack: ') and reason in done.stderr, done.stderr
        assert done.stderr.count('\n') == 1, done.stderr
        assert only_files(target) == [], file


def test_a_failed_restore_leaves_a_database_with_data_as_it_was(db: Database, tmp_path: Path, admin, wc) -> None:
    # A backup made by a newer potrack would be copied, then fail to upgrade: it is refused before the copy.
    record_movement(admin, work_center_id=wc('WC001'), order_number='PO-OLD', quantity=4, movement_type='IN')
    newer = tmp_path / 'newer.backup'
    try:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
        backup(db, newer)
    finally:
        with db.engine.begin() as conn:
            conn.execute(text('UPDATE alembic_version SET version_num = :head'), {'head': head_revision()})
    record_movement(admin, work_center_id=wc('WC002'), order_number='PO-AFTER', quantity=2, movement_type='IN')
    before = table_counts(db)
    with pytest.raises(BackupError, match=r'made by a newer potrack \(schema revision 9999\) than this one'):
        restore(db, newer, force=True)
    assert table_counts(db) == before and before['production_order'] == 2
    assert current_revision(db) == head_revision()


def test_backup_refuses_an_out_it_cannot_write_in_one_line(db: Database, tmp_path: Path) -> None:
    (tmp_path / 'afile').write_text('')
    cases = {
        str(tmp_path): f'potrack: {tmp_path} is a folder; give the name of the backup file to write in it.',
        str(tmp_path / 'afile' / 'x.backup'): (
            f'potrack: Cannot write the backup {tmp_path / "afile" / "x.backup"}: {tmp_path / "afile"} is a file, '
            'not a folder.'
        ),
    }
    for out, message in cases.items():
        done = run_cli(db.url, tmp_path, 'backup', '--out', out)
        assert (done.returncode, done.stdout, done.stderr) == (1, '', message + '\n')


def test_backup_of_a_mistyped_sqlite_path_is_refused(tmp_path: Path) -> None:
    typo = tmp_path / 'potrak.db'
    done = run_cli(f'sqlite:///{typo}', tmp_path, 'backup', '--out', str(tmp_path / 'x.backup'))
    assert (done.returncode, done.stdout) == (1, '')
    assert done.stderr == f'potrack: There is no database file {typo} to back up.\n'
    assert only_files(tmp_path) == []
