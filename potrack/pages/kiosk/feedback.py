"""What a save says, where the operator looks: a colour, an icon and a short tone, never colour alone.

The tone is the one signal that needs no look at the screen; it is muted per device (the browser's
localStorage), because a kiosk beside a quiet office is not one on a loud line.
"""

from __future__ import annotations

from nicegui import ui
from nicegui.events import GenericEventArguments

from potrack.i18n import Translator

MUTED_KEY = 'potrack.kiosk.muted'  # localStorage: '1' mutes this device's tones
MUTED_EVENT = 'potrack_kiosk_muted'
TONE_OK_HZ, TONE_REFUSED_HZ = 880, 220  # high for saved, low for refused: told apart without looking
TONE_OK_S, TONE_REFUSED_S = 0.12, 0.35
TONE_GAIN = 0.15
BOX_CLASSES = 'w-full h-full potrack-status-box flex-nowrap gap-3'

STYLES = {  # kind: (colours, icon)
    'ok': ('bg-green-9 text-white', 'check_circle'),
    'error': ('bg-red-9 text-white', 'error'),
    'info': ('bg-blue-grey-8 text-white', 'info'),
}

# Constants only: no user text ever goes into these scripts.
_TONE_JS = """(() => {{
  if (localStorage.getItem('{key}') === '1') return;
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return;
  const audio = window.potrackAudio || (window.potrackAudio = new Context());
  const tone = audio.createOscillator(), gain = audio.createGain();
  tone.frequency.value = {hz};
  gain.gain.value = {gain};
  tone.connect(gain).connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + {seconds});
}})()"""
_REPORT_MUTED_JS = f"emitEvent('{MUTED_EVENT}', localStorage.getItem('{MUTED_KEY}') === '1')"
_TOGGLE_MUTED_JS = f"""() => {{
  const muted = localStorage.getItem('{MUTED_KEY}') !== '1';
  localStorage.setItem('{MUTED_KEY}', muted ? '1' : '0');
  emitEvent('{MUTED_EVENT}', muted);
}}"""
TONES = {
    'ok': _TONE_JS.format(key=MUTED_KEY, hz=TONE_OK_HZ, gain=TONE_GAIN, seconds=TONE_OK_S),
    'error': _TONE_JS.format(key=MUTED_KEY, hz=TONE_REFUSED_HZ, gain=TONE_GAIN, seconds=TONE_REFUSED_S),
}


class StatusLine:
    """The result line under IN/OUT: `say` shows a message; `stale` takes it away once a new entry starts.

    Its area keeps its height, shown or not (assets/kiosk.css `.potrack-status`): a message never moves the
    keys under the operator's finger; a long one scrolls inside the area.
    """

    def __init__(self) -> None:
        with ui.element('div').classes('potrack-status w-full').mark('status-area'):
            # The card lays out its icon and words in a row itself (BOX_CLASSES): no row element of its own.
            with ui.card().classes(BOX_CLASSES).props('flat bordered') as self.box:
                self.icon = ui.icon('info', size='md').props('aria-hidden=true').mark('status-icon')
                self.label = ui.label('').classes('text-lg').props('role=status aria-live=polite').mark('status')
        self.box.set_visibility(False)
        self.kind = ''

    def say(self, text: str, kind: str, *, sound: bool = False) -> None:
        colours, icon = STYLES[kind]
        self.box.classes(replace=f'{BOX_CLASSES} {colours}')
        self.icon.name = icon
        self.label.set_text(text)
        self.box.set_visibility(True)
        self.kind = kind
        if sound and kind in TONES:
            ui.run_javascript(TONES[kind])

    def hide(self) -> None:
        self.box.set_visibility(False)
        self.kind = ''

    def stale(self) -> None:
        """A new order is being typed: the last save's result no longer describes the form."""
        if self.kind in ('ok', 'error'):
            self.hide()


def mute_button(t: Translator) -> ui.button:
    """A per-device switch for the tones; its icon and name follow the browser's stored choice."""
    mute, unmute = t.gettext('Mute the kiosk sounds'), t.gettext('Unmute the kiosk sounds')
    button = ui.button(icon='volume_up').props('flat round').mark('mute')
    button.props['aria-label'] = mute  # a prop, escaped by Vue: never markup
    button.on('click', js_handler=_TOGGLE_MUTED_JS)

    def show(e: GenericEventArguments) -> None:
        muted = e.args is True or e.args == [True]
        button.props(f'icon={"volume_off" if muted else "volume_up"}')
        button.props['aria-label'] = unmute if muted else mute
        button.update()

    ui.on(MUTED_EVENT, show)
    ui.run_javascript(_REPORT_MUTED_JS)
    return button
