"""The flow's refusals that take several forms, each written whole so that it is translated whole (i18n).

A sentence built from pieces ("the " + role + " of …") cannot be translated: a language orders its words its own
way. So each case is its own catalogue entry, marked with `N_`; `flow.py` picks one and fills its values.
"""

from __future__ import annotations

from potrack.i18n import N_

# Why an IN at a later step was refused, in the words of what happened to the pieces sent there: one
# sentence per case, whole, so that each is translated whole (i18n); the second of each pair adds the tolerance.
BEYOND_TRANSIT = {
    'none': (
        N_(
            'No pieces of {order} have been sent to {code} yet (it receives from {before}); you tried to receive {qty}.'
        ),
        N_(
            'No pieces of {order} have been sent to {code} yet (it receives from {before}); you tried to receive '
            '{qty}. With the {tolerance} % over-receipt tolerance, at most {possible} can be received.'
        ),
    ),
    'none_received': (
        N_('Only {sent} pieces of {order} were sent to {code} (from {sender}); you tried to receive {qty}.'),
        N_(
            'Only {sent} pieces of {order} were sent to {code} (from {sender}); you tried to receive {qty}. '
            'With the {tolerance} % over-receipt tolerance, at most {possible} can be received.'
        ),
    ),
    'all_received': (
        N_(
            'All {sent} pieces of {order} sent to {code} (from {sender}) have been received already; '
            'you tried to receive {qty}.'
        ),
        N_(
            'All {sent} pieces of {order} sent to {code} (from {sender}) have been received already; '
            'you tried to receive {qty}. With the {tolerance} % over-receipt tolerance, at most {possible} can be '
            'received.'
        ),
    ),
    'some_received': (
        N_(
            'Only {left} more pieces of {order} are on their way to {code} (from {sender}): {sent} sent, {received} '
            'received; you tried to receive {qty}.'
        ),
        N_(
            'Only {left} more pieces of {order} are on their way to {code} (from {sender}): {sent} sent, {received} '
            'received; you tried to receive {qty}. With the {tolerance} % over-receipt tolerance, at most '
            '{possible} can be received.'
        ),
    ),
}

NEXT, BACK = 'next', 'back'  # which step of the route an OUT sends its pieces to
NOT_USABLE = {  # (step, missing or deactivated) -> the refusal, whole for the catalogue (i18n)
    (NEXT, 'missing'): N_('The next step of {order}, {code}, is not a work center; ask the office to fix the route.'),
    (BACK, 'missing'): N_(
        'The step to send back to of {order}, {code}, is not a work center; ask the office to fix the route.'
    ),
    (NEXT, 'inactive'): N_(
        'The next step of {order}, {code}, is deactivated: pieces sent there could not be received. '
        'Ask the office to fix the route.'
    ),
    (BACK, 'inactive'): N_(
        'The step to send back to of {order}, {code}, is deactivated: pieces sent there could not be received. '
        'Ask the office to fix the route.'
    ),
}
