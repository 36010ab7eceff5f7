// Idle sign-out for shared kiosks: counts down in the last minute, any touch or key resets it.
// The server enforces the same limit on its own; this only makes it visible and ends it cleanly.
window.potrackIdle = (() => {
  let limitS = 600, last = Date.now(), lastPing = 0, timer = null, box = null;
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
    box.textContent = `No activity: signing out in ${left} s. Touch anywhere to stay signed in.`;
    box.style.display = 'block';
  }
  function activity() {
    last = Date.now();
    hide();
    if (last - lastPing > PING_EVERY_MS && typeof emitEvent === 'function') {
      lastPing = last;
      emitEvent('potrack_activity');
    }
  }
  function tick() {
    const left = Math.ceil(limitS - (Date.now() - last) / 1000);
    if (left <= 0) { clearInterval(timer); window.location.href = '/auth/signout?reason=idle'; return; }
    if (left <= 60) show(left); else hide();
  }
  return {
    start(seconds) {
      limitS = seconds; last = Date.now(); lastPing = Date.now();
      ['pointerdown', 'keydown', 'touchstart', 'wheel'].forEach(
        (e) => document.addEventListener(e, activity, { passive: true, capture: true }));
      if (!timer) timer = setInterval(tick, 1000);
    },
  };
})();
