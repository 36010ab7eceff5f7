"""The Excel workbook: `workbook` (the sheets, streamed in write-only mode), `summary_sheet` (the
first sheet and its chart), `cells` (safe, typed cells: never a formula from user text), `job` (the
export run off the event loop with progress).
"""
