/**
 * bambucam web page: one tile per printer playing HLS (hls.js, bundled), MJPEG when HLS fails,
 * the snapshot as poster, the source state from /api/printers, and a full-screen view.
 */
import { type ActiveMode, CameraPlayer } from './player';
import type { PrinterStatus } from './status';
import { STATE_TEXT } from './status';

interface Tile {
  el: HTMLElement;
  player: CameraPlayer;
}

const tiles = new Map<string, Tile>();
// For debugging and bench/hls-latency.ts: the players by printer id.
(window as unknown as { bambucamPlayers: Map<string, Tile> }).bambucamPlayers = tiles;
const main = document.getElementById('printers') as HTMLElement;
const summary = document.getElementById('summary') as HTMLElement;
const template = document.getElementById('tile') as HTMLTemplateElement;

const MODE_TEXT: Record<ActiveMode, string> = {
  webrtc: 'WebRTC',
  hls: 'HLS',
  mjpeg: 'MJPEG',
  snapshot: 'snapshots',
  none: '',
};

function text(el: HTMLElement, selector: string, value: string): void {
  const node = el.querySelector(selector);
  if (node) node.textContent = value;
}

function createTile(p: PrinterStatus): Tile {
  const el = (template.content.firstElementChild as HTMLElement).cloneNode(true) as HTMLElement;
  el.dataset.printer = p.id;
  text(el, '.name', p.name);
  (el.querySelector('.snapshot') as HTMLAnchorElement).href = p.urls.snapshot;
  (el.querySelector('.mjpeg') as HTMLAnchorElement).href = p.urls.mjpeg;
  (el.querySelector('.hls') as HTMLAnchorElement).href = p.urls.hls;
  (el.querySelector('.api') as HTMLAnchorElement).href = `api/printers/${encodeURIComponent(p.id)}`;
  const view = el.querySelector('.view') as HTMLElement;
  view.addEventListener('click', () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void view.requestFullscreen?.();
  });
  const player = new CameraPlayer(view, {
    urls: p.urls,
    mode: 'auto',
    onMode: (mode, reason) => {
      el.dataset.mode = mode;
      text(el, '.mode', MODE_TEXT[mode]);
      (el.querySelector('.mode') as HTMLElement).title = reason ?? '';
    },
  });
  player.video.setAttribute('aria-label', `Camera of ${p.name}`);
  player.img.alt = `Camera of ${p.name}`;
  main.appendChild(el);
  player.start();
  return { el, player };
}

function update(p: PrinterStatus): void {
  let tile = tiles.get(p.id);
  if (!tile) {
    tile = createTile(p);
    tiles.set(p.id, tile);
  }
  const { el } = tile;
  const badge = el.querySelector('.badge') as HTMLElement;
  badge.className = `badge ${p.source.state}`;
  badge.textContent = STATE_TEXT[p.source.state] ?? p.source.state;
  let overlay = p.source.state === 'streaming' ? '' : (p.source.reason ?? '');
  // The printer says over MQTT that it does not serve its camera (X1/H2/P2, PROTOCOLS.md §4).
  if (overlay && p.mqtt?.ipcam?.liveview === 'off')
    overlay = 'LAN Only Liveview is off on the printer: turn it on (printer screen: Settings → Network)';
  if (overlay && p.source.next_retry_at) {
    const secs = Math.max(0, Math.round((Date.parse(p.source.next_retry_at) - Date.now()) / 1000));
    overlay += ` — retrying in ${secs} s`;
  }
  text(el, '.overlay', overlay);
  text(el, '.fps', `${p.fps.toFixed(1)} fps`);
  text(
    el,
    '.age',
    p.last_frame_age_ms === null
      ? 'no picture yet'
      : `last picture ${(p.last_frame_age_ms / 1000).toFixed(1)} s ago`,
  );
  const viewers = Object.values(p.viewers).reduce((a, b) => a + b, 0);
  text(el, '.viewers', `${viewers} viewer${viewers === 1 ? '' : 's'}`);
}

async function refresh(): Promise<void> {
  try {
    const res = await fetch('api/printers', { cache: 'no-store' });
    const { printers } = (await res.json()) as { printers: PrinterStatus[] };
    printers.forEach(update);
    const live = printers.filter((p) => p.source.state === 'streaming').length;
    summary.textContent = printers.length
      ? `${live} of ${printers.length} printer${printers.length === 1 ? '' : 's'} live`
      : 'no printers configured';
  } catch {
    summary.textContent = 'gateway unreachable — retrying';
  }
}

// A hidden tab fetches nothing: the muxers and encoders can go idle.
document.addEventListener('visibilitychange', () => {
  for (const { player } of tiles.values()) {
    if (document.hidden) player.pause();
    else player.resume();
  }
});

void refresh();
setInterval(refresh, 2000);
