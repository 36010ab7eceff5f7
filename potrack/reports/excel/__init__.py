"""The Excel workbook: `workbook` (the export of one request, in one read transaction), `summary_sheet`
(the first sheet and its chart), `scrap_sheet` (scrap and rework per reason and work center, with a chart),
`data_sheets` (Balances and Movements, streamed in write-only mode),
`orders_sheet` (the orders of the book the selection covers, with their progress), `cells` (safe, typed
cells: never a formula from user text), `job` (the export run in a worker process with progress, so kiosks
keep working). Same imports as `reports`: never nicegui.
"""
