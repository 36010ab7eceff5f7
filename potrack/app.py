"""Assembles the web app: pages, HTTP routes, static assets, start-up; and `potrack serve`."""

from __future__ import annotations

import gc
import logging
import sys
from pathlib import Path
from typing import Any

from nicegui import Client, app, ui

from potrack.api.asgi import install as install_api
from potrack.common import metrics
from potrack.config import settings
from potrack.db import Database
from potrack.pages import account, home, live_bridge, signin
from potrack.pages.admin import page as admin
from potrack.pages.auth_routes import router as auth_router
from potrack.pages.balances import page as balances
from potrack.pages.kiosk import device_signin, enroll
from potrack.pages.kiosk import page as kiosk
from potrack.pages.orders import detail as order_detail
from potrack.pages.orders import page as orders
from potrack.pages.orders import route_card as route_cards
from potrack.pages.reports import page as reports

ASSETS_DIR = Path(__file__).resolve().parent.parent / 'assets'
RECONNECT_TIMEOUT_S = 30.0  # a short network drop must not lose a half-typed kiosk entry
HEAD_HTML = '<link rel="stylesheet" href="/assets/potrack.css"><script src="/assets/idle.js"></script>'


def setup() -> None:
    """Register pages, routes and assets on NiceGUI's app (once per process; per test in the user fixture)."""
    app.add_static_files('/assets', ASSETS_DIR)
    app.include_router(auth_router)
    install_api(app)
    metrics.watch_live_clients(live_clients)
    ui.add_head_html(HEAD_HTML, shared=True)
    # route_cards before order_detail: /orders/cards is not an order number.
    modules = (signin, enroll, device_signin, account, home, kiosk, balances, admin, reports, orders, route_cards)
    for module in (*modules, order_detail):
        module.register()
    app.on_startup(live_bridge.start)
    app.on_shutdown(live_bridge.stop)


def live_clients() -> float:
    return float(sum(1 for client in list(Client.instances.values()) if client.has_socket_connection))


def run_options() -> dict[str, Any]:
    """The `ui.run` arguments for this configuration."""
    cfg = settings()
    return {
        'host': cfg.host,
        'port': cfg.port,
        'title': 'potrack',
        'language': 'en-US',  # set, so every page's <html> says its language (screen readers, axe html-has-lang)
        'favicon': ASSETS_DIR / 'favicon.svg',
        'dark': True,
        'reconnect_timeout': RECONNECT_TIMEOUT_S,
        'storage_secret': cfg.session_secret,
        'session_middleware_kwargs': {'https_only': cfg.https, 'same_site': 'lax', 'max_age': cfg.session_lifetime_s},
        'show': False,
        'reload': False,
        'show_welcome_message': False,
        'uvicorn_logging_level': 'warning',
    }


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter('%(asctime)s %(levelname)s %(name)s %(message)s'))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger('alembic').setLevel(logging.WARNING)


def serve(db: Database) -> None:
    """Serve the app on `db` (reachable, migrated and provisioned: cli.database.open_database) until Ctrl+C."""
    from potrack.ops.provision import DEFAULT_ADMIN, DEFAULT_ADMIN_PASSWORD, default_password_active

    cfg = settings()
    scheme = 'https' if cfg.https else 'http'
    shown_host = 'localhost' if cfg.host in ('0.0.0.0', '127.0.0.1', '::') else cfg.host  # noqa: S104
    print(f'potrack: database {cfg.database_label()}', flush=True)
    print(f'potrack: open {scheme}://{shown_host}:{cfg.port}/ in a browser (Ctrl+C stops)', flush=True)
    if default_password_active(db):
        print(
            f'potrack: WARNING the default admin password is still active: sign in as {DEFAULT_ADMIN} / '
            f'{DEFAULT_ADMIN_PASSWORD} and change it now',
            flush=True,
        )
    setup()
    # Everything loaded so far lives as long as the process: out of the collector's way, a full
    # collection no longer walks NiceGUI, FastAPI and SQLAlchemy (~60 ms pauses under API load here).
    app.on_startup(gc.freeze)
    ui.run(**run_options())
