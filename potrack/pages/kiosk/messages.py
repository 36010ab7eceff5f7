"""What the kiosk says after a save: what happened to the pieces, in the words of the floor."""

from __future__ import annotations

from potrack.ledger.writer import MovementResult

OVER_RECEIPT, OFF_ROUTE = 'over_receipt', 'off_route'
STILL_SAVING = 'Still saving — checking whether it was saved…'
IN_DOUBT = 'Not sure it was saved: the connection broke while saving. Press {kind} again: it will not be booked twice.'


def saved_text(result: MovementResult, reason_label: str = '') -> str:
    """'Sent 40 on to WC003 (PO-1).', 'Scrapped 2 — Surface defect (PO-1 at WC002).', … with the balance."""
    order, qty, here = result.order_number, result.quantity, result.work_center_code
    why = f' — {reason_label}' if reason_label else ''
    if result.movement_type == 'IN':
        already = ' (this entry was already recorded)' if result.already_recorded else ''
        text = f'Saved{already}: {qty} of {order} received at {here}.'
    elif result.disposition == 'scrap':
        text = f'Scrapped {qty}{why} ({order} at {here}).'
    elif result.disposition == 'rework':
        text = f'Sent {qty} back to {result.to_work_center_code} for rework{why} ({order}).'
    elif result.to_work_center_code:
        text = f'Sent {qty} on to {result.to_work_center_code} ({order}).'
    else:  # no route, or its last step: the pieces leave the flow here
        already = ' (this entry was already recorded)' if result.already_recorded else ''
        text = f'Saved{already}: {qty} of {order} sent on at {here}.'
    if result.already_recorded and result.movement_type == 'OUT' and not text.startswith('Saved'):
        text += ' This entry was already recorded.'
    text += f' Balance here now: {result.balance}.'
    if result.flag == OVER_RECEIPT:
        text += ' More than was sent here: the office sees it flagged.'
    elif result.flag == OFF_ROUTE:
        text += f' {here} is not on the route of {order}: the office sees it flagged.'
    return text


def undone_text(result: MovementResult) -> str:
    """What an Undo booked: the reversal's type and its pieces given back, with the balance."""
    undone = f'{result.movement_type} {-result.quantity} of {result.order_number}'
    return f'Undone: {undone}. Balance here now: {result.balance}.'
