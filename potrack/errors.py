"""Domain errors: every refusal a person can see carries a message fit to show them."""

from __future__ import annotations

from collections.abc import Mapping


class PotrackError(Exception):
    """Base of every refusal; `message` is a sentence for the person at the screen, in English.

    `params`: given, `message` is a catalogue template (marked with `i18n.N_`) whose `{name}`s these fill;
    `template` keeps it, so that a page can show the refusal in its person's language
    (`t.gettext(template).format(**params)`), while `message` is the English sentence the API and the logs read.
    """

    def __init__(self, message: str, *, field: str | None = None, params: Mapping[str, object] | None = None) -> None:
        self.template = message if params is not None else None
        self.params: dict[str, object] = dict(params or {})
        self.message = message.format(**self.params) if params is not None else message
        super().__init__(self.message)
        self.field = field


class InvalidInput(PotrackError):
    """What was typed cannot be accepted; nothing was written."""


class NotAllowed(PotrackError):
    """The acting user may not do this (role or department scope)."""


class SignedOut(PotrackError):
    """The acting user's session or account is no longer valid; the page must return to sign-in."""


class NotFound(PotrackError):
    """The record asked for does not exist or is not visible to the actor."""


class UnknownOrder(NotFound):
    """The order number is not in the order book and the site's policy did not let it be recorded.

    `can_start`: the policy is 'confirm', so the same entry sent again with the order's creation confirmed
    is accepted (the kiosk's "Start it here?", the API's `"create_order": true`).
    """

    def __init__(
        self, message: str, *, order_number: str, can_start: bool, params: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message, field='order_number', params=params)
        self.order_number = order_number
        self.can_start = can_start


class OrderNotOpen(NotAllowed):
    """The order is closed or cancelled: it takes no new movements until an admin reopens it."""


class Conflict(PotrackError):
    """The request clashes with what is stored (duplicate name, reused request id, already reversed)."""


class InsufficientBalance(PotrackError):
    """An OUT (or a reversal) would take more pieces than the work center holds."""

    def __init__(
        self, message: str, *, available: int, requested: int, params: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message, field='quantity', params=params)
        self.available = available
        self.requested = requested


class BeyondTransit(InsufficientBalance):
    """An IN above what was sent to the work center (its first step: above the planned quantity), or an
    undo of pieces sent on that the next work center has received already."""


class NotSaved(PotrackError):
    """The database could not be reached or kept failing; nothing was written, try again."""


class OutcomeUnknown(NotSaved):
    """The connection broke after the COMMIT was sent and the outcome could not be read back.

    The change may or may not be saved. Sending it again with the same request id is safe: it is booked
    once. A NotSaved, so that every caller keeps the entry and its request id for the retry.
    `backend_pid`: the broken connection's server process, for whoever looks the outcome up.
    """

    def __init__(self, message: str, *, backend_pid: int | None = None) -> None:
        super().__init__(message)
        self.backend_pid = backend_pid


class NeedsConfirmation(PotrackError):
    """The change is allowed but has a consequence the person must confirm first; nothing was written.

    Deactivating a work center that still holds pieces: `pieces` and `orders` say how many.
    """

    def __init__(self, message: str, *, pieces: int, orders: int) -> None:
        super().__init__(message)
        self.pieces = pieces
        self.orders = orders


class InvalidFields(InvalidInput):
    """Several fields of one form cannot be accepted; `errors` holds each, so a form shows them all at once.

    `message` and `field` are those of the first, for callers that show one refusal.
    """

    def __init__(self, errors: list[InvalidInput]) -> None:
        first = errors[0]
        super().__init__(
            first.template or first.message, field=first.field, params=first.params if first.template else None
        )
        self.errors = errors
