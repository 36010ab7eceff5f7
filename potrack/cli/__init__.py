"""The `potrack` command: one module per group of subcommands, each with its `register(add)`.

The entry layer: may import every room; the command modules import services lazily, inside each
command, so `potrack --help` starts fast and a command loads only what it uses.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from sqlalchemy.exc import SQLAlchemyError

from potrack import __version__
from potrack.cli import backup, data, export, orders, setup, tokens
from potrack.config import ConfigError, reset_settings, settings
from potrack.errors import PotrackError


class Parser(argparse.ArgumentParser):
    """argparse, telling a mistake in one line: the usage is one --help away."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f'{self.prog}: {message} (see {self.prog} --help)\n')


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog='potrack', description='Production order tracking for factories.')
    parser.add_argument('--version', action='version', version=f'potrack {__version__}')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    for module in (setup, data, backup, export, tokens, orders):
        module.register(add)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(levelname)s %(name)s %(message)s')
    logging.getLogger('alembic').setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    reset_settings()
    try:
        settings()
        return int(getattr(args, 'func', setup.cmd_serve)(args))
    except ConfigError as exc:
        print(f'potrack: {exc}', file=sys.stderr)
        return 2
    except PotrackError as exc:
        print(f'potrack: {exc.message}', file=sys.stderr)
        return 1
    except OSError as exc:  # a file or folder named on the command line that cannot be read or written
        where = f'{exc.filename}: ' if exc.filename else ''
        print(f'potrack: cannot use {where}{exc.strerror or exc}', file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:  # the database failed after it had answered the first check
        cause = str(getattr(exc, 'orig', None) or exc).strip().splitlines()
        print(f'potrack: the database failed: {cause[0] if cause else type(exc).__name__}', file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
