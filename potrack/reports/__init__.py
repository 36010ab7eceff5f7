"""Reports for managers: filters, summaries and charts data, the Excel workbook and its worker.

`filters` (what a report asks for, the choices a person has), `summaries` (per work center, flow
per day), `balances` (per work center and order, with the pieces in transit, scrapped and reworked),
`scrap` (scrap and rework per reason), `movement_flow` (the dispositions of a page of movements),
`excel/` (the workbook, streamed, and the job that writes it off the event loop).
Reads the ledger through `ledger.search` and `ledger.balances`; never writes it.
May import: `config`, `errors`, `timeutil`, `db`, `common`, `live`, `ledger`, `orders`. Never nicegui.
"""
