"""Balances: `page` (totals per work center, live), `transit` (pieces in transit to each work center)
and `grid` (balances per order, paged, live).

Like every page room: imports the shell at the top of `pages/`, the services and nicegui.
"""
