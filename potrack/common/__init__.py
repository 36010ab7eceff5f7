"""The shared layer below the domains: who is acting, input cleaning, paging, the audit trail writer, metrics.

Owns what every domain needs and none owns: `actors` (the acting user, what they may see),
`validation` and `field_checks` (cleaning what a person typed), `paging`, `audit` (adding an audit
event inside a transaction), `metrics`, `work_center_codes` (codes to ids, cached).
May import: `config`, `errors`, `timeutil`, `db`, `live`. Never a domain package, never nicegui.
"""
