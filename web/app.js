// bambucam web page: one tile per printer, live MJPEG, status from /api/printers.
'use strict';

const tiles = new Map();
const main = document.getElementById('printers');
const summary = document.getElementById('summary');
const template = document.getElementById('tile');

const STATE_TEXT = {
  streaming: 'live',
  connecting: 'connecting',
  idle: 'starting',
  offline: 'offline',
  auth_failed: 'wrong access code',
  stopped: 'stopped',
};

function createTile(p) {
  const el = template.content.firstElementChild.cloneNode(true);
  el.dataset.printer = p.id;
  el.querySelector('.name').textContent = p.name;
  const img = el.querySelector('.picture');
  img.alt = `Camera of ${p.name}`;
  img.src = p.urls.mjpeg;
  // A broken stream (gateway restarted) is reopened after a pause.
  img.addEventListener('error', () =>
    setTimeout(() => {
      img.src = `${p.urls.mjpeg}?t=${Date.now()}`;
    }, 2000),
  );
  el.querySelector('.snapshot').href = p.urls.snapshot;
  el.querySelector('.mjpeg').href = p.urls.mjpeg;
  el.querySelector('.api').href = `api/printers/${encodeURIComponent(p.id)}`;
  const view = el.querySelector('.view');
  view.addEventListener('click', () => {
    if (document.fullscreenElement) document.exitFullscreen();
    else view.requestFullscreen?.();
  });
  main.appendChild(el);
  return el;
}

function update(p) {
  const el = tiles.get(p.id) ?? createTile(p);
  tiles.set(p.id, el);
  const badge = el.querySelector('.badge');
  badge.className = `badge ${p.source.state}`;
  badge.textContent = STATE_TEXT[p.source.state] ?? p.source.state;
  let overlay = p.source.state === 'streaming' ? '' : (p.source.reason ?? '');
  if (overlay && p.source.next_retry_at) {
    const secs = Math.max(0, Math.round((Date.parse(p.source.next_retry_at) - Date.now()) / 1000));
    overlay += ` — retrying in ${secs} s`;
  }
  el.querySelector('.overlay').textContent = overlay;
  el.querySelector('.fps').textContent = `${p.fps.toFixed(1)} fps`;
  el.querySelector('.age').textContent =
    p.last_frame_age_ms === null
      ? 'no picture yet'
      : `last picture ${(p.last_frame_age_ms / 1000).toFixed(1)} s ago`;
  const viewers = Object.values(p.viewers).reduce((a, b) => a + b, 0);
  el.querySelector('.viewers').textContent = `${viewers} viewer${viewers === 1 ? '' : 's'}`;
}

async function refresh() {
  try {
    const res = await fetch('api/printers', { cache: 'no-store' });
    const { printers } = await res.json();
    printers.forEach(update);
    const live = printers.filter((p) => p.source.state === 'streaming').length;
    summary.textContent = printers.length
      ? `${live} of ${printers.length} printer${printers.length === 1 ? '' : 's'} live`
      : 'no printers configured';
  } catch {
    summary.textContent = 'gateway unreachable — retrying';
  }
}

refresh();
setInterval(refresh, 2000);
