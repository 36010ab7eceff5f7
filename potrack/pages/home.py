"""The start page sends each role where its work is; the not-allowed page explains a refused page."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from nicegui import ui

from potrack.pages.guard import open_page
from potrack.pages.layout import bare, heading


def register() -> None:
    @ui.page('/')
    async def home(request: Request) -> Response:
        ctx = await open_page(request)
        if isinstance(ctx, Response):
            return ctx
        return RedirectResponse('/balances' if ctx.is_admin else '/kiosk', status_code=303)

    @ui.page('/denied')
    async def denied(path: str = '') -> None:
        with bare('Not allowed'):
            ui.icon('block', size='48px', color='amber')
            heading('Not allowed').classes('text-2xl font-bold').mark('denied-title')
            ui.label('This page is for administrators. Your account cannot open it.').classes('text-base')
            if path:
                ui.label(f'Page: {path[:200]}').classes('text-sm opacity-70')
            ui.button('Back to my start page', on_click=lambda: ui.navigate.to('/')).props(
                'size=lg unelevated'
            ).classes('w-full').mark('denied-home')
