"""The shell every signed-in page shares: header, navigation by role, dark theme, idle sign-out."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Iterator
from contextlib import contextmanager

from nicegui import app, ui

from potrack.i18n import N_
from potrack.live import feed
from potrack.live.announce import USERS
from potrack.pages import live_bridge
from potrack.pages.guard import PageContext
from potrack.pages.language import translator_for

NAV_USER = [  # (label, shown in the user's language; its English names the marker), path, icon
    (N_('Kiosk'), '/kiosk', 'qr_code_scanner'),
    (N_('Orders'), '/orders', 'assignment'),
    (N_('Balances'), '/balances', 'inventory_2'),
    (N_('Reports'), '/reports', 'insights'),
]
NAV_ADMIN = [(N_('Admin'), '/admin', 'admin_panel_settings')]


def heading(text: str, level: int = 1) -> ui.label:
    """A label a screen reader announces as a heading: every page has exactly one of level 1, its title."""
    label = ui.label(text)
    label.props['role'] = 'heading'
    label.props['aria-level'] = level
    return label


def logo(size: str) -> ui.element:
    # Decorative: the word "potrack" beside it says it all. A plain <img alt="">, since Quasar's q-img wraps
    # its picture in a role="img" box whose empty name axe reports.
    image = ui.element('img').classes(size)
    image.props.update(src='/assets/logo.svg', alt='')
    return image


@contextmanager
def frame(ctx: PageContext, title: str, *, title_is_heading: bool = True) -> Iterator[ui.column]:
    """Header and navigation for `ctx`'s user; the page builds its content inside the yielded column.

    The header's `title` is the page's h1, unless the page shows its own (`title_is_heading=False`).
    """
    ui.page_title(f'{title} · potrack')
    dark = ui.dark_mode(app.storage.user.get('dark', True))
    user = ctx.session_user.user
    t = translator_for(ctx)

    def toggle_dark() -> None:
        dark.value = not dark.value
        app.storage.user['dark'] = dark.value

    with ui.header().classes('items-center gap-2 px-3 py-1 bg-teal-900 text-white flex-wrap'):
        with ui.link(target='/').classes('flex items-center gap-2 no-underline text-white'):
            logo('w-9 h-9')
            ui.label('potrack').classes('text-xl font-bold tracking-wide')
        # Hidden from sight on a phone, still read out there: sr-only, not hidden.
        page_title = heading(title) if title_is_heading else ui.label(title)
        page_title.classes('text-lg opacity-80 ml-2 max-sm:sr-only').mark('page-title')
        ui.space()
        for label, target, icon in NAV_USER + (NAV_ADMIN if ctx.is_admin else []):
            active = ctx.path.startswith(target)
            # potrack-nav: below 1024 px the words are read out, not shown (assets/potrack.css), so the header
            # keeps to one line at 800 px.
            ui.button(t.gettext(label), icon=icon, on_click=lambda to=target: ui.navigate.to(to)).props(
                f'flat no-caps size=md {"color=amber" if active else "color=white"}'
            ).classes('potrack-nav text-base min-h-[48px]').mark(f'nav-{label.lower()}')
        account = ui.button(icon='account_circle').props('flat round color=white size=lg').mark('account-menu')
        # a prop, escaped by Vue: never markup
        account.props['aria-label'] = t.gettext('Account: {name}').format(name=user.username)
        with account:
            menu = ui.menu().classes('min-w-64')

        def fill_menu(opened: bool) -> None:
            """Built at its first opening: its dozen elements cost every open page (a kiosk: ~40 kB) otherwise."""
            if not opened or menu.default_slot.children:
                return
            with menu:
                # A menu holds menu items only (axe: aria-required-children): who is signed in is shown, not a
                # part of the menu's structure, and Quasar's items say they are menu items, not list items.
                with ui.column().classes('p-4 gap-1').props('role=presentation'):
                    ui.label(user.display_name).classes('text-lg font-bold').mark('user-name')
                    department = user.department_name or t.gettext('No department')
                    ui.label(f'{department} · {user.role}').mark('user-role')
                ui.separator()
                ui.menu_item(t.gettext('My account'), on_click=lambda: ui.navigate.to('/account')).props(
                    'role=menuitem'
                )
                ui.menu_item(t.gettext('Light / dark theme'), on_click=toggle_dark).props('role=menuitem')
                # In the browser (assets/idle.js): a POST, and it works even while the websocket is down.
                ui.menu_item(t.gettext('Sign out')).props('role=menuitem').on(
                    'click', js_handler='() => window.potrackSignOut()'
                ).mark('signout')

        menu.on_value_change(lambda e: fill_menu(bool(e.value)))
    ui.on('potrack_activity', ctx.touch)

    def on_change(change: feed.Change) -> Awaitable[None] | None:
        # Synchronous, returning the recheck only for a USERS change: an async handler made every change start
        # a task on every open page (at 50 kiosks, the largest share of the event loop's work per entry).
        if change.kind == USERS:  # a deactivation or a password reset ends sessions: this page may be one
            return ctx.recheck()
        return None

    live_bridge.subscribe(on_change)
    idle_texts = {
        'countdown': t.gettext('No activity: signing out in {s} s. Touch anywhere to stay signed in.'),
        'unsaved': t.gettext('The entry you have not saved will be cleared.'),
    }
    # json.dumps: the texts reach the script as a JSON object (idle.js shows them with textContent).
    seconds = int(ctx.session_user.idle_timeout_s)
    ui.run_javascript(f'window.potrackIdle && window.potrackIdle.start({seconds}, {json.dumps(idle_texts)})')
    with ui.column().classes('w-full max-w-screen-xl mx-auto p-3 gap-4') as content:
        yield content


@contextmanager
def bare(title: str) -> Iterator[ui.card]:
    """The shell of pages without a signed-in user (sign-in, not allowed): logo, title, theme."""
    ui.page_title(f'{title} · potrack')
    ui.dark_mode(True)
    with ui.column().classes('w-full items-center justify-center min-h-screen p-4'):
        with ui.row().classes('items-center gap-3 mb-2'):
            logo('w-12 h-12')
            ui.label('potrack').classes('text-3xl font-bold')
        with ui.card().classes('w-full max-w-md p-6 gap-4') as card:
            yield card
