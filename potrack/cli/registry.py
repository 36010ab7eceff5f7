"""How a command module adds its subcommands to the parser."""

from __future__ import annotations

import argparse
from collections.abc import Callable

# add(name, func, help) -> the subcommand's parser, for its arguments
Add = Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser]
