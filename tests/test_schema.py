"""The schema the migrations build is the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import CheckConstraint, Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

import potrack.db.models  # noqa: F401  (puts the tables on SQLModel.metadata)
from potrack.db import Database
from potrack.db.migrate import alembic_config, current_revision, head_revision
from potrack.db.models import OrderActivity
from potrack.ops.upgrade import upgrade

# SQLAlchemy cannot reflect an index on an expression from SQLite, so autogenerate says it skipped it.
# That index is checked by hand below; any other warning is a finding.
SQLITE_EXPRESSION_INDEX_WARNINGS = (
    'Skipped unsupported reflection of expression-based index ux_department_name_lower',
    "autogenerate skipping metadata-specified expression-based index 'ux_department_name_lower'",
)


@pytest.fixture(params=['sqlite', pytest.param('postgresql', marks=pytest.mark.postgres)])
def migrated(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[Database]:
    """A database freshly brought to head by the migrations (no provisioning)."""
    if request.param == 'sqlite':
        path = tmp_path / 'potrack.db'
        shutil.copy(sqlite_template, path)
        database = Database(f'sqlite:///{path}')
    else:
        database = Database(request.getfixturevalue('pg_url'))
    yield database
    database.dispose()


def schema_differences(conn: Connection) -> tuple[list[object], list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        diff = compare_metadata(MigrationContext.configure(conn, opts={'compare_type': True}), SQLModel.metadata)
    return diff, [str(w.message) for w in caught]


def schema_snapshot(db: Database) -> dict[str, object]:
    """Everything a second migration could change: tables, columns, indexes, constraints, the revision."""
    with db.engine.connect() as conn, warnings.catch_warnings():
        warnings.filterwarnings('ignore', message=SQLITE_EXPRESSION_INDEX_WARNINGS[0])
        ins = inspect(conn)
        snapshot: dict[str, object] = {
            'revision': MigrationContext.configure(conn).get_current_revision(),
        }
        for table in sorted(ins.get_table_names()):
            snapshot[table] = (
                [(c['name'], str(c['type']), c['nullable']) for c in ins.get_columns(table)],
                sorted(
                    (i['name'] or '', tuple(map(str, i['column_names'])), i['unique']) for i in ins.get_indexes(table)
                ),
                sorted(c['name'] or '' for c in ins.get_check_constraints(table)),
                sorted(c['name'] or '' for c in ins.get_unique_constraints(table)),
                sorted((f['referred_table'], tuple(f['constrained_columns'])) for f in ins.get_foreign_keys(table)),
            )
        if db.is_postgres:
            snapshot['pg_indexes'] = conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname")
            ).all()
        else:
            snapshot['sqlite_master'] = conn.execute(
                text('SELECT type, name, sql FROM sqlite_master ORDER BY type, name')
            ).all()
    return snapshot


def test_migrated_schema_matches_the_models(migrated: Database) -> None:
    with migrated.engine.connect() as conn:
        diff, warned = schema_differences(conn)
    assert diff == []
    if migrated.is_postgres:
        assert warned == []
    else:
        unexpected = [w for w in warned if not w.startswith(SQLITE_EXPRESSION_INDEX_WARNINGS)]
        assert unexpected == []


def test_department_names_are_unique_whatever_their_case(migrated: Database) -> None:
    with migrated.engine.connect() as conn:
        if migrated.is_postgres:
            indexdef = conn.execute(
                text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ux_department_name_lower'")
            ).scalar_one()
            assert indexdef.startswith('CREATE UNIQUE INDEX ux_department_name_lower ON public.department')
            assert 'lower((name)::text)' in indexdef
        else:
            sql = conn.execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'ux_department_name_lower'")
            ).scalar_one()
            assert sql == 'CREATE UNIQUE INDEX ux_department_name_lower ON department (lower(name))'
    insert = text("INSERT INTO department (name, description, is_active, created_at) VALUES (:n, '', true, :t)")
    when = '2026-01-01 00:00:00'
    with pytest.raises(IntegrityError), migrated.engine.connect() as conn, conn.begin():
        conn.execute(insert, {'n': 'Schema Probe', 't': when})
        conn.execute(insert, {'n': 'SCHEMA probe', 't': when})


@pytest.mark.postgres
def test_order_number_indexes_serve_prefix_searches_on_postgresql(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with db.engine.connect() as conn:
            defs = dict(
                conn.execute(
                    text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%order_number'")
                ).all()
            )
    finally:
        db.dispose()
    trigram = defs.pop('ix_order_header_trgm_order_number')  # "contains" searches of the order book
    assert set(defs) == {
        'ix_order_activity_order_number',
        'ix_order_balance_order_number',
        'ix_production_order_order_number',
    }
    assert all('text_pattern_ops' in d for d in defs.values())
    assert 'USING gin' in trigram and 'gin_trgm_ops' in trigram


def test_check_constraints_are_in_the_database(migrated: Database) -> None:
    expected = {
        table.name: sorted(c.name for c in table.constraints if isinstance(c, CheckConstraint) and c.name)
        for table in SQLModel.metadata.sorted_tables
    }
    with migrated.engine.connect() as conn:
        ins = inspect(conn)
        found = {table: sorted(c['name'] for c in ins.get_check_constraints(table)) for table in expected}
    assert found == expected
    assert found['order_balance'] == ['ck_order_balance_flow', 'ck_order_balance_non_negative']
    assert found['order_transit'] == ['ck_order_transit_non_negative']
    assert found['production_order'] == [
        'ck_production_order_disposition',
        'ck_production_order_quantity_sign',
        'ck_production_order_transit_qty',
        'ck_production_order_type',
    ]


def test_database_is_at_the_head_revision_and_a_second_migration_changes_nothing(migrated: Database) -> None:
    head = head_revision()
    assert head is not None
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == [head]  # one line of history
    assert current_revision(migrated) == head
    before = schema_snapshot(migrated)
    upgrade(migrated)
    assert current_revision(migrated) == head
    assert schema_snapshot(migrated) == before


def test_an_empty_sqlite_file_is_migrated_from_nothing_to_head(tmp_path: Path) -> None:
    db = Database(f'sqlite:///{tmp_path / "new" / "potrack.db"}')
    try:
        assert current_revision(db) is None
        upgrade(db)
        assert current_revision(db) == head_revision()
        first = schema_snapshot(db)
        upgrade(db)
        assert schema_snapshot(db) == first
        with db.engine.connect() as conn:
            assert schema_differences(conn)[0] == []
    finally:
        db.dispose()


def test_upgrading_a_database_in_use_fills_each_orders_newest_time(empty_target: Database) -> None:
    # Migration 0004 adds order_activity to a database that has movements: filled from its balance rows.
    cfg = alembic_config()
    with empty_target.engine.begin() as conn:
        cfg.attributes['connection'] = conn
        command.upgrade(cfg, '0003')
    rows = [('WC001', 'PO-1', '2026-11-01 08:00:00'), ('WC002', 'PO-1', '2026-11-03 09:30:00')]
    rows += [('WC001', 'PO-2', '2026-11-02 10:00:00')]
    with empty_target.engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO work_center (code, name, description, is_active, created_at) VALUES '
                "('WC001', 'A', '', true, :t), ('WC002', 'B', '', true, :t)"
            ),
            {'t': '2026-01-01 00:00:00'},
        )
        for code, order, at in rows:
            conn.execute(
                text(
                    'INSERT INTO order_balance (work_center_id, order_number, qty_in, qty_out, last_movement_at) '
                    'SELECT id, :o, 0, 0, :at FROM work_center WHERE code = :c'
                ),
                {'o': order, 'at': datetime.fromisoformat(at).replace(tzinfo=UTC), 'c': code},
            )
    upgrade(empty_target)
    with empty_target.read() as s:
        found = {a.order_number: a.last_movement_at for a in s.exec(select(OrderActivity)).all()}
    assert found == {
        'PO-1': datetime(2026, 11, 3, 9, 30, tzinfo=UTC),
        'PO-2': datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
    }
