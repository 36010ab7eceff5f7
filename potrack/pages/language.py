"""Which language a page speaks to its person: theirs, else their kiosk device's, else English."""

from __future__ import annotations

from potrack.i18n import DEFAULT_LANGUAGE, Translator, translator
from potrack.pages.guard import PageContext


def language_of(ctx: PageContext) -> str:
    device = ctx.session_user.device
    return ctx.session_user.user.language or (device.language if device else None) or DEFAULT_LANGUAGE


def translator_for(ctx: PageContext) -> Translator:
    return translator(language_of(ctx))
