"""The REST API under /api/v1 and /metrics, for scanner gateways and ERP jobs.

`asgi` (the API app mounted in front of NiceGUI), `routes` (the FastAPI routes), `order_routes` and
`order_schemas` (the order book), `fast` (the plain ASGI path for a well-formed POST of a movement),
`workers` (the reader and writer thread pools: a write stuck on a lock never takes a read's thread),
`gate` (one POST per balance row in flight per instance; the rest wait without a thread), `schemas`,
`errors` (refusals as JSON), `middleware` (body limit, latency). Every route acts as the token's user
through the services.
May import: `config`, `errors`, `timeutil`, `db`, `common`, `live`, `ledger`, `accounts`, `masters`, `orders`.
Never nicegui, never `pages`.
"""
