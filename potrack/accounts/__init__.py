"""Accounts: users, passwords, sign-in and its throttling, sessions, API tokens.

`users` (the user record), `user_admin` (an admin creating, changing, deactivating, unlocking
users), `user_list` (finding users), `security` and `password_work` (hashing off the event loop),
`signin`, `sessions`, `authlog` (the sign-in log), `tokens` (REST API tokens).
May import: `config`, `errors`, `timeutil`, `db`, `common`, `live`. Never another domain, never nicegui.
"""
