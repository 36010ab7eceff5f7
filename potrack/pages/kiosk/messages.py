"""What the kiosk says after a save: what happened to the pieces, in the words of the floor.

Each sentence is one catalogue entry, whole (i18n): a translation may order its words as its language does.
"""

from __future__ import annotations

from potrack.i18n import N_, Translator
from potrack.ledger.writer import MovementResult

OVER_RECEIPT, OFF_ROUTE = 'over_receipt', 'off_route'
STILL_SAVING = N_('Still saving — checking whether it was saved…')
IN_DOUBT = N_(
    'Not sure it was saved: the connection broke while saving. Press {kind} again: it will not be booked twice.'
)
CHOOSE_WORK_CENTER = N_('Choose your work center first.')


def _what_happened(result: MovementResult, reason: str, t: Translator) -> str:
    """The first sentence: what the pieces did ('Sent 40 on to WC003 (PO-1).', 'Scrapped 2 — …')."""
    values = {
        'qty': t.number(result.quantity),
        'order': result.order_number,
        'here': result.work_center_code,
        'to': result.to_work_center_code,
        'reason': reason,
    }
    already = result.already_recorded
    if result.movement_type == 'IN':
        if already:
            template = t.gettext('Saved (this entry was already recorded): {qty} of {order} received at {here}.')
        else:
            template = t.gettext('Saved: {qty} of {order} received at {here}.')
    elif result.disposition == 'scrap':
        if reason:
            template = t.gettext('Scrapped {qty} — {reason} ({order} at {here}).')
        else:
            template = t.gettext('Scrapped {qty} ({order} at {here}).')
    elif result.disposition == 'rework':
        if reason:
            template = t.gettext('Sent {qty} back to {to} for rework — {reason} ({order}).')
        else:
            template = t.gettext('Sent {qty} back to {to} for rework ({order}).')
    elif result.to_work_center_code:
        template = t.gettext('Sent {qty} on to {to} ({order}).')
    elif already:  # no route, or its last step: the pieces leave the flow here
        template = t.gettext('Saved (this entry was already recorded): {qty} of {order} sent on at {here}.')
    else:
        template = t.gettext('Saved: {qty} of {order} sent on at {here}.')
    return template.format(**values)


def saved_text(result: MovementResult, reason_label: str, t: Translator) -> str:
    """'Sent 40 on to WC003 (PO-1).', 'Scrapped 2 — Surface defect (PO-1 at WC002).', … with the balance."""
    sentences = [_what_happened(result, reason_label, t)]
    moved_on = result.disposition in ('scrap', 'rework') or bool(result.to_work_center_code)
    if result.already_recorded and result.movement_type == 'OUT' and moved_on:  # the first sentence did not say so
        sentences.append(t.gettext('This entry was already recorded.'))
    sentences.append(t.gettext('Balance here now: {balance}.').format(balance=t.number(result.balance)))
    if result.flag == OVER_RECEIPT:
        sentences.append(t.gettext('More than was sent here: the office sees it flagged.'))
    elif result.flag == OFF_ROUTE:
        sentences.append(
            t.gettext('{here} is not on the route of {order}: the office sees it flagged.').format(
                here=result.work_center_code, order=result.order_number
            )
        )
    return ' '.join(sentences)


def undone_text(result: MovementResult, t: Translator) -> str:
    """What an Undo booked: the reversal's type and its pieces given back, with the balance."""
    return t.gettext('Undone: {kind} {qty} of {order}. Balance here now: {balance}.').format(
        kind=result.movement_type,
        qty=t.number(-result.quantity),
        order=result.order_number,
        balance=t.number(result.balance),
    )
