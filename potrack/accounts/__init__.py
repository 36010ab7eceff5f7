"""Accounts: users, passwords, sign-in and its throttling, sessions, API tokens.

`users` (the user record), `user_admin` (an admin creating, changing, deactivating users, clearing
their sign-in delay), `user_list` (finding users), `security` and `password_work` (hashing off the
event loop), `signin`, `throttle` (slowing repeated failed sign-ins down, in the database), `sessions`,
`authlog` (the sign-in log), `tokens` (REST API tokens).
May import: `config`, `errors`, `timeutil`, `db`, `common`, `live`. Never another domain, never nicegui.
"""
