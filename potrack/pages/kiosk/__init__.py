"""The operator's kiosk: `page` (work center, order, quantity, IN/OUT, undo), `keypad`, `order_card`
(where an order's pieces are), `recent` (the last entries at this work center, live).

Like every page room: imports the shell at the top of `pages/`, the services and nicegui.
"""
