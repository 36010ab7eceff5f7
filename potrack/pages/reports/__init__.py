"""Reports: `page` (search, tabs, charts, export), `query` (the URL as a report query), `filters`,
`tables`, `charts`, `export` (the download with progress).

Like every page room: imports the shell at the top of `pages/`, the services and nicegui.
"""
