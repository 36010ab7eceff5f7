"""Reports: `page` (search, tabs, charts, export), `query` (the URL as a report query), `filters`,
`tables`, `charts`, `export` (the download with progress).
"""
