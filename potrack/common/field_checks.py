"""Checking every field of a form before refusing it, so the person sees all problems at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from potrack.errors import InvalidFields, InvalidInput


def check_fields(checks: dict[str, Callable[[], Any]]) -> dict[str, Any]:
    """Run each named check and return the cleaned values; raise every InvalidInput together.

    One problem raises that InvalidInput unchanged; several raise InvalidFields holding them all.
    """
    values: dict[str, Any] = {}
    errors: list[InvalidInput] = []
    for name, check in checks.items():
        try:
            values[name] = check()
        except InvalidInput as exc:
            errors.append(exc)
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise InvalidFields(errors)
    return values
