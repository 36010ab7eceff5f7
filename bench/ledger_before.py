"""The ledger's write path as it was before a change, loaded from git: bench/record.py's baseline.

potrack/ledger/{statements,steps,writer}.py of a git revision are loaded as `bench_ledger_before.*`. Their
imports of each other point at these copies; everything else they import (db, errors, live, common) is
today's code, so the two paths differ only by what changed in those three files since. The copies'
prepared statements get names of their own: a connection that ran both would otherwise take one
version's statement for the other's.

Which change: a `mark`, a name the change brought into potrack/ledger/statements.py. The default
revision is the parent of the first commit that has it there, and a copy that already holds the mark is
refused. The marks bench/record.py uses are in MARKS. The copy runs against today's schema: the columns
added since have defaults, so its INSERTs, which do not name them, still fit.
"""

from __future__ import annotations

import re
import subprocess
import sys
import types
from pathlib import Path

PACKAGE = 'bench_ledger_before'
FILES = ('statements', 'steps', 'writer')  # in import order
REPO = Path(__file__).resolve().parent.parent
MARKS = {
    14: 'order_status',  # the order look-up's column: the path without the order book
    15: 'transit_qty',  # the movement's transit column: the path without the flow between work centers
}


def _git(*args: str) -> str:
    return subprocess.run(['git', *args], cwd=REPO, check=True, capture_output=True, text=True).stdout


def default_revision(mark: str) -> str:
    """The parent of the commit that first added `mark` to statements.py; HEAD while that is uncommitted."""
    added = _git('log', '--format=%H', '-S', mark, '--', 'potrack/ledger/statements.py').split()
    return f'{added[-1]}^' if added else 'HEAD'


def _rewritten(source: str, name: str, revision: str, mark: str) -> str:
    source = source.replace('from potrack.ledger.statements import', f'from {PACKAGE}.statements import')
    source = source.replace('from potrack.ledger import statements, steps', f'from {PACKAGE} import statements, steps')
    source = source.replace("Prepared('potrack_", "Prepared('before_potrack_")
    left = re.findall(r'^\s*(?:from|import) potrack\.ledger\b.*$', source, flags=re.MULTILINE)
    if left:
        raise SystemExit(f'{revision}:potrack/ledger/{name}.py imports {left}: bench/ledger_before.py cannot load it')
    if mark in source:
        raise SystemExit(f'{revision}:potrack/ledger/{name}.py already has {mark!r}: pass an older revision')
    return source


def load_writer(revision: str, mark: str) -> types.ModuleType:
    """The `writer` module of `revision` (its `record_movement` is the baseline), with its statements and steps."""
    package = types.ModuleType(PACKAGE)
    package.__path__ = []
    sys.modules[PACKAGE] = package
    for name in FILES:
        path = f'potrack/ledger/{name}.py'
        source = _rewritten(_git('show', f'{revision}:{path}'), name, revision, mark)
        module = types.ModuleType(f'{PACKAGE}.{name}')
        module.__file__ = f'{revision}:{path}'
        sys.modules[module.__name__] = module  # before running it: dataclasses look their module up
        exec(compile(source, module.__file__, 'exec'), module.__dict__)  # noqa: S102 - the repository's own code
        setattr(package, name, module)
    return package.writer
