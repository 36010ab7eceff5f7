"""The order book: known production orders with planned quantities, imported from the ERP or typed.

Owns `order_header` (one row per order, with its route), `product_route` (default routes) and the
unknown-order policy's wording; the ledger enforces the policy and the flow itself, inside its
transaction. May import db, live, common and the foundation; reads the ledger's tables (order_balance,
order_transit) through db, never the ledger package.
"""
