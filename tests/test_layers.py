"""The house keeps its shape: imports only go down the layers, and only pages (and the app) import nicegui.

Walks every module of the package with `ast`, so a planted upward import fails here before review.
The layers are LAYERS below, lowest first; docs/architecture.md draws them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE_DIR = Path(__file__).resolve().parent.parent / 'potrack'

# Each room and its layer. A module may import its own room and rooms of a lower layer only: two rooms
# of one layer never import each other, so no two domains depend on each other.
LAYERS: list[set[str]] = [
    {'config', 'errors', 'timeutil', 'i18n', '__init__'},  # the foundation every layer may use
    {'db'},  # tables, engine, migrations
    {'live'},  # the change feed
    {'common'},  # who is acting, input cleaning, paging, audit, metrics, work center codes
    {'ledger', 'accounts', 'masters', 'orders'},  # the core domains
    {'reports', 'api', 'ops'},  # built on the core domains
    {'pages'},  # what a person sees
    {'app', 'cli', '__main__'},  # assembling and starting the whole
]
RANK = {room: rank for rank, rooms in enumerate(LAYERS) for room in rooms}
FOUNDATION = LAYERS[0]
ENTRY = LAYERS[-1]
NICEGUI_ROOMS = {'pages', 'app'}


def room_of(module: str) -> str:
    """`potrack.ledger.writer` -> `ledger`; `potrack.config` -> `config`."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else '__init__'


def module_name(path: Path, package_dir: Path) -> str:
    parts = list(path.relative_to(package_dir.parent).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def imports_of(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == '__init__.py' else module.rpartition('.')[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')[: len(package.split('.')) - node.level + 1]
                target = '.'.join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ''
            if target in ('potrack', *(f'potrack.{room}' for room in RANK)) and target.count('.') <= 1:
                # `from potrack import ledger` imports the room itself; `from potrack.pages import home` a module
                found.extend((node.lineno, f'{target}.{alias.name}') for alias in node.names)
            else:
                found.append((node.lineno, target))
    return found


def problems(package_dir: Path = PACKAGE_DIR) -> list[str]:
    """Every import that goes up or sideways, and every nicegui import outside the pages."""
    found: list[str] = []
    for path in sorted(package_dir.rglob('*.py')):
        if 'migrations' in path.parts:
            continue  # Alembic's scripts import db only; they are loaded by Alembic, not by the package
        module = module_name(path, package_dir)
        room = room_of(module)
        where = path.relative_to(package_dir.parent)
        if room not in RANK:
            found.append(f'{where}: room {room!r} has no layer (add it to LAYERS and docs/architecture.md)')
            continue
        for line, target in imports_of(path, module):
            if target.split('.')[0] == 'nicegui' and room not in NICEGUI_ROOMS:
                found.append(f'{where}:{line}: imports nicegui; only pages and app may')
            if not target.startswith('potrack.'):
                continue
            other = room_of(target)
            if other == room or other not in RANK:
                continue
            if RANK[other] > RANK[room] or (RANK[other] == RANK[room] and room not in FOUNDATION | ENTRY):
                found.append(f'{where}:{line}: {room} (layer {RANK[room]}) imports {target} (layer {RANK[other]})')
    return found


def test_imports_only_go_down() -> None:
    found = problems()
    assert not found, 'imports against the layers:\n' + '\n'.join(found)


def test_every_room_says_what_it_owns() -> None:
    for init in sorted(PACKAGE_DIR.rglob('__init__.py')):
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc, f'{init.relative_to(PACKAGE_DIR.parent)} has no docstring saying what it owns'


@pytest.mark.parametrize(
    ('room', 'planted', 'expected'),
    [
        ('db', 'from potrack.ledger.integrity import check_consistency\n', 'db (layer 1) imports potrack.ledger'),
        (
            'ledger',
            'from potrack.masters.catalog import list_work_centers\n',
            'ledger (layer 4) imports potrack.masters',
        ),
        ('ledger', 'from potrack import masters\n', 'ledger (layer 4) imports potrack.masters'),
        ('common', 'from nicegui import ui\n', 'imports nicegui'),
        ('reports', 'from potrack.pages import guard\n', 'reports (layer 5) imports potrack.pages.guard'),
    ],
)
def test_a_planted_upward_import_is_found(tmp_path: Path, room: str, planted: str, expected: str) -> None:
    package = tmp_path / 'potrack'
    (package / room).mkdir(parents=True)
    (package / '__init__.py').write_text('"""potrack."""\n')
    (package / room / '__init__.py').write_text('"""A room."""\n')
    (package / room / 'planted.py').write_text(planted)
    found = problems(package)
    assert len(found) == 1 and expected in found[0], found
