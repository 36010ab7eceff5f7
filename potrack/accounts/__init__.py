"""Accounts: users, passwords, sign-in and its throttling, sessions, API tokens.

`users` (the user record), `user_admin` (an admin creating, changing, deactivating users, clearing
their sign-in delay), `user_list` (finding users), `security` and `password_work` (hashing off the
event loop), `signin`, `throttle` (slowing repeated failed sign-ins down, in the database), `sessions`,
`authlog` (the sign-in log), `tokens` (REST API tokens).
Kiosk devices: `devices` (admins: create with a one-time enrollment code, change, re-code, revoke),
`enrollment` (the device trades its code for a credential; recognising it after), `device_view` (a device as
its pages and the session check see it), `operator_codes` (badges and PINs), `operator_signin` (badge or
name + PIN on a device, throttled per device and per user; the work centers a device session shows).
May import: `config`, `errors`, `timeutil`, `i18n`, `db`, `common`, `live`. Never another domain, never nicegui.
"""
