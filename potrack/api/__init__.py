"""The REST API under /api/v1 and /metrics, for scanner gateways and ERP jobs.

`asgi` (the API app mounted in front of NiceGUI), `routes` (the FastAPI routes), `fast` (the plain
ASGI path for a well-formed POST of a movement), `schemas`, `errors` (refusals as JSON),
`middleware` (body limit, latency). Every route acts as the token's user through the services.
May import: `config`, `errors`, `timeutil`, `db`, `common`, `live`, `ledger`, `accounts`, `masters`.
Never nicegui, never `pages`.
"""
