"""The operator's kiosk: `page` (work center, order, quantity, IN/OUT, undo), `keypad`, `order_card`
(where an order's pieces are), `recent` (the last entries at this work center, live), `disposition`
and `choices` (what an OUT does: sent on, scrap or rework, with its reason and target), `incoming`
("sent to you, not yet received", live), `messages` (what a save says), `live_changes` (which change
notices refresh which panel), `start_offer` (starting an order not in the book). Every part is handed the
page's `Translator` (its operator's language, `pages/language.py`) and shows its texts through it.

Like every page room: imports the shell at the top of `pages/`, the services and nicegui.
"""
