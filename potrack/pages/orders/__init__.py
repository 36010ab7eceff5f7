"""The order book's pages: `page` (the list at /orders), `detail` (one order), `dialogs` and `import_dialog`
/ `import_view` (adding, editing, importing), `route_card` (printable route cards, one sheet per order,
with the barcode and QR images on them; its sheets drawn by `route_card_sheets.js`).

Like every page room: imports the shell at the top of `pages/`, the services (`orders`, `ledger`, ...) and
nicegui.
"""
