"""Showing a service's refusal where the person looks: next to the field it concerns."""

from __future__ import annotations

from collections.abc import Mapping

from nicegui import ui

from potrack.errors import PotrackError, SignedOut
from potrack.i18n import DEFAULT_LANGUAGE, Translator


def set_field_error(field: ui.element, message: str | None) -> None:
    """Quasar's own error slot renders the message as text (escaped), under the field."""
    if message:
        field.props['error'] = True
        field.props['error-message'] = message
    else:
        field.props.pop('error', None)
        field.props.pop('error-message', None)
    field.update()


def refusal_text(exc: PotrackError, t: Translator | None = None) -> str:
    """The service's refusal in `t`'s language: its catalogue template translated and filled, where it has one.

    English is the service's own sentence, unchanged; a refusal not (yet) in the catalogue stays in English.
    """
    if t is None or t.language == DEFAULT_LANGUAGE or exc.template is None:
        return exc.message
    shown = {k: t.number(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in exc.params.items()}
    return t.gettext(exc.template).format(**shown)


def show_refusal(
    exc: PotrackError, fields: Mapping[str, ui.element] | None = None, t: Translator | None = None
) -> None:
    """Put the message under its field when the page has that field, else in a notification."""
    if isinstance(exc, SignedOut):
        return  # the page is already on its way to sign-in
    message = refusal_text(exc, t)
    target = (fields or {}).get(exc.field or '')
    if target is not None:
        set_field_error(target, message)
    else:
        ui.notify(message, type='negative', multi_line=True, timeout=8000)


def clear_errors(fields: Mapping[str, ui.element]) -> None:
    for field in fields.values():
        set_field_error(field, None)


def dialog(title: str) -> ui.dialog:
    """A persistent dialog named by its title, so that a screen reader says what opened (axe: aria-dialog-name).
    The name is a prop, escaped by Vue: never markup."""
    opened = ui.dialog().props('persistent')
    opened.props['aria-label'] = title
    return opened
