"""The operator's kiosk: `page` (work center, order, quantity, IN/OUT, undo), `keypad`, `recent`
(the order card and the last entries at this work center, live).
"""
