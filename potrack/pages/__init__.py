"""What a person sees: NiceGUI pages built on the services, never SQL, never a decision of who may do what.

The shell at the top: `layout` (header, navigation by role, dark theme, idle sign-out), `guard` (the
signed-in user, re-checked on every action: a check at page load protects nothing after it), `forms`
(refusals shown next to their field), `live_bridge` (the change feed as a NiceGUI Event), `signin`,
`account`, `auth_routes` and `home`. The rooms below: `kiosk/`, `balances/`, `reports/`, `admin/`.
May import every service room (`ledger`, `accounts`, `masters`, `orders`, `reports`, `ops`, `live`, `common`),
the foundation and nicegui; of `db` only the clock, the health ping and the listener's address; never
`app` or `cli`. Database and bcrypt calls go through
`run.io_bound` (PageContext.call).
"""
