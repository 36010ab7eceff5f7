"""The `potrack` command: one module per group of subcommands, each with its `register(add)`.

The entry layer: may import every room; the command modules import services lazily, inside each
command, so `potrack --help` starts fast and a command loads only what it uses.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from potrack.cli import backup, data, export, setup
from potrack.config import ConfigError, reset_settings, settings
from potrack.errors import PotrackError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog='potrack', description='Production order tracking for factories.')
    sub = parser.add_subparsers(dest='command', metavar='COMMAND')

    def add(name: str, func: Callable[[argparse.Namespace], int], help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(func=func)
        return p

    for module in (setup, data, backup, export):
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
    except KeyboardInterrupt:
        return 130
