"""The ledger: the one write path of movements and balances, and every read of them.

`writer` (record IN/OUT: the only code that writes `production_order` and `order_balance`),
`reversal` (undo and corrections, recorded through the writer), `steps` (each step of the write, one
round trip) and `statements` (their SQL, built once), `search` (movements by order, date, work
center, type, user) and `newest_first` (how a newest-first prefix search reads: its plan), `balances` (per
work center and per order), `integrity` (balances equal their movements; the catch-up after a
migration), `corrections` (finding and reversing movements with a reason, for admins).
May import: `config`, `errors`, `timeutil`, `db`, `live`, `common`. Never another domain, never nicegui.
"""
