"""The app as NiceGUI's `user` fixture runs it (no server; the test's database is already installed)."""

from nicegui import ui

from potrack.app import run_options, setup

setup()
ui.run(**run_options())
