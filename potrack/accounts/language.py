"""A person's own language for the sign-in and kiosk texts (i18n): English or Hindi, or their kiosk device's."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from potrack.accounts.users import UserInfo, user_info
from potrack.common import audit
from potrack.common.actors import Actor, load_user
from potrack.db.engine import Database, database
from potrack.errors import InvalidInput
from potrack.i18n import LANGUAGES, N_


def set_language(actor: Actor, language: Any, db: Database | None = None) -> UserInfo:
    """The signed-in user chooses their language ('en', 'hi'; None: the kiosk device's, else English).

    Raises InvalidInput (not a language potrack speaks), SignedOut.
    """
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(N_('Choose English or Hindi.'), field='language', params={})
    db = db or database()

    def unit(session: Session) -> UserInfo:
        row = load_user(session, actor)
        before = row.language
        row.language = language
        session.add(row)
        assert row.id is not None
        if before != language:
            audit.record(
                session,
                actor_id=row.id,
                action='user.set_language',
                entity='user',
                entity_id=row.id,
                before={'language': before},
                after={'language': language},
            )
        return user_info(session, row)

    return db.write(unit)
