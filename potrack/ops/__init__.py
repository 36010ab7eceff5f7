"""Operating a site: first-start provisioning, schema upgrades, backups, demo data.

`provision` (the default admin, work centers and departments of an empty database), `upgrade`
(migrations, then the ledger catch-up they need), `backup` (dump and restore), `demo/` (sample
orders flowing through the line).
May import: `config`, `errors`, `timeutil`, `db`, `common`, `live`, `ledger`, `accounts`, `masters`, `orders`.
Never nicegui.
"""
