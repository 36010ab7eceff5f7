// Idle sign-out for shared kiosks: counts down in the last minute, any touch or key resets it.
// The server enforces the limit on its own, a little later (actors.IDLE_GRACE_S), since it hears of
// activity at most every PING_EVERY_MS; this makes the limit visible and ends the session cleanly.
// Sign-out is a POST from a page of this site (the server refuses a GET and other sites' POSTs): the
// answer's redirect clears the session cookie, and the page then opens where it points (sign-in).
window.potrackSignOut = (reason) => {
  const url = reason ? `/auth/signout?reason=${encodeURIComponent(reason)}` : '/auth/signout';
  fetch(url, { method: 'POST', credentials: 'same-origin' })
    .then((response) => (response.redirected ? response.url : '/'), () => '/')
    .then((next) => window.location.assign(next));
};
window.potrackIdle = (() => {
  let limitS = 600, last = Date.now(), lastPing = 0, timer = null, box = null;
  // The page's language (pages/layout.py passes them translated); {s} is the seconds left.
  let texts = {
    countdown: 'No activity: signing out in {s} s. Touch anywhere to stay signed in.',
    unsaved: 'The entry you have not saved will be cleared.',
  };
  // An order or quantity typed at the kiosk and not yet saved: the countdown says it will be lost.
  function unsavedEntry() {
    return [...document.querySelectorAll('.potrack-kiosk input')].some((i) => i.type !== 'checkbox' && i.value.trim());
  }
  const PING_EVERY_MS = 20000;
  function hide() { if (box) box.style.display = 'none'; }
  function show(left) {
    if (!box) {
      box = document.createElement('div');
      box.className = 'potrack-idle';
      box.setAttribute('role', 'alert');
      box.dataset.testid = 'idle-countdown';
      document.body.appendChild(box);
    }
    const line = texts.countdown.replace('{s}', String(left));
    box.textContent = unsavedEntry() ? `${line} ${texts.unsaved}` : line;
    box.style.display = 'block';
  }
  function activity() {
    const counting = box && box.style.display !== 'none';
    last = Date.now();
    hide();
    // During the countdown every touch reaches the server at once: its idle clock must not run out first.
    if ((counting || last - lastPing > PING_EVERY_MS) && typeof emitEvent === 'function') {
      lastPing = last;
      emitEvent('potrack_activity');
    }
  }
  function tick() {
    const left = Math.ceil(limitS - (Date.now() - last) / 1000);
    if (left <= 0) { clearInterval(timer); window.potrackSignOut('idle'); return; }
    if (left <= 60) show(left); else hide();
  }
  return {
    start(seconds, translated) {
      if (translated) texts = { ...texts, ...translated };
      limitS = seconds; last = Date.now(); lastPing = Date.now();
      ['pointerdown', 'keydown', 'touchstart', 'wheel'].forEach(
        (e) => document.addEventListener(e, activity, { passive: true, capture: true }));
      if (!timer) timer = setInterval(tick, 1000);
    },
  };
})();
// Quasar's loading bar is a progressbar without a name (axe: aria-progressbar-name): name it once it is there.
(() => {
  const name = () => {
    const bars = document.querySelectorAll('.q-loading-bar');
    bars.forEach((bar) => bar.setAttribute('aria-label', document.documentElement.lang === 'hi' ? 'लोड हो रहा है' : 'Loading'));
    return bars.length > 0;
  };
  const watch = () => {
    if (name()) return;
    const observer = new MutationObserver(() => { if (name()) observer.disconnect(); });
    observer.observe(document.body, { childList: true, subtree: true });
  };
  if (document.body) watch(); else document.addEventListener('DOMContentLoaded', watch);
})();
