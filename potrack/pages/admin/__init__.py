"""Admin pages: users, departments, work centers, corrections, API tokens, the audit trail; in dialogs.

`page` (the tabbed page), one module per tab, `user_dialogs`, `widgets` (form dialog, select table).

Like every page room: imports the shell at the top of `pages/`, the services and nicegui.
"""
