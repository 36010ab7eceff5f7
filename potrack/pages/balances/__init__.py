"""Balances: `page` (totals per work center, live) and `grid` (balances per order, paged, live)."""
