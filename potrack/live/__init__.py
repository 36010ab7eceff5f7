"""The change feed: what changed, told to every open page on every app instance.

`feed` (the one feed: subscribe, deliver, NOTIFY inside a transaction), `announce` (admin writes
announced after their commit), `listener` (PostgreSQL LISTEN, one per instance), `cache` (values
kept until the feed says they changed).
May import: `config`, `errors`, `timeutil`, `db`. Never `common` (it sits above) or a domain, never nicegui.
"""
