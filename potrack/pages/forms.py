"""Showing a service's refusal where the person looks: next to the field it concerns."""

from __future__ import annotations

from collections.abc import Mapping

from nicegui import ui

from potrack.errors import PotrackError, SignedOut


def set_field_error(field: ui.element, message: str | None) -> None:
    """Quasar's own error slot renders the message as text (escaped), under the field."""
    if message:
        field.props['error'] = True
        field.props['error-message'] = message
    else:
        field.props.pop('error', None)
        field.props.pop('error-message', None)
    field.update()


def show_refusal(exc: PotrackError, fields: Mapping[str, ui.element] | None = None) -> None:
    """Put the message under its field when the page has that field, else in a notification."""
    if isinstance(exc, SignedOut):
        return  # the page is already on its way to sign-in
    target = (fields or {}).get(exc.field or '')
    if target is not None:
        set_field_error(target, exc.message)
    else:
        ui.notify(exc.message, type='negative', multi_line=True, timeout=8000)


def clear_errors(fields: Mapping[str, ui.element]) -> None:
    for field in fields.values():
        set_field_error(field, None)
