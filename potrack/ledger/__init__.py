"""The ledger: the one write path of movements and balances, and every read of them.

`writer` (record IN/OUT, reverse a movement: the only code that writes `production_order` and
`order_balance`), `steps` (its SQL statements), `search` (movements by order, date, work center,
type, user), `balances` (per work center and per order), `integrity` (balances equal their
movements; the catch-up after a migration), `corrections` (reversals with a reason).
May import: `config`, `errors`, `timeutil`, `db`, `common`, `live`. Never another domain, never nicegui.
"""
