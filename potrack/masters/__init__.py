"""Master data: departments, work centers, which department sees which work center; the audit trail.

`catalog` (reading and creating departments and work centers, the rules of their names),
`departments` and `work_centers` (an admin changing them), `reasons` (the scrap and rework reasons
kiosks offer), `audit_trail` (reading the audit events every domain writes through `common.audit`).
May import: `config`, `errors`, `timeutil`, `db`, `common`, `live`. Never another domain, never nicegui.
"""
