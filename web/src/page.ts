/**
 * bambucam web page: a camera wall. Every printer is a tile showing its own JPEGs, all of them over
 * ONE WebSocket (wall-client.ts); only tiles in view receive pictures, at the width they are drawn;
 * a hidden tab receives nothing. Clicking a tile opens the full view with live video (player.ts:
 * LL-HLS, MJPEG fallback); closing it destroys the player, so the printer's encoder can stop.
 *
 * Tiles show the printers' own pictures, scaled by the browser: resizing in the gateway costs ~5 ms
 * of CPU per picture (docs/benchmarks.md), the aim of the wall is to cost it almost nothing.
 * `?resize=1` asks for pictures at each tile's drawn width instead (fewer bytes on a slow network);
 * `?fps=N` caps every tile at N pictures a second.
 */

import { type ActiveMode, CameraPlayer } from './player';
import { STATE_TEXT } from './status';
import { withToken as withTokenOf } from './token';
import { PictureView, WallClient, type WallPrinter, type Watch } from './wall-client';

interface PageTile {
  el: HTMLElement;
  view: PictureView;
  watch: Watch;
}

const MODE_TEXT: Record<ActiveMode, string> = {
  webrtc: 'WebRTC',
  hls: 'HLS',
  mjpeg: 'MJPEG',
  snapshot: 'snapshots',
  none: '',
};

const wallEl = document.getElementById('wall') as HTMLElement;
const summary = document.getElementById('summary') as HTMLElement;
const template = document.getElementById('tile') as HTMLTemplateElement;
const full = document.getElementById('full') as HTMLElement;
const fullView = full.querySelector('.full-view') as HTMLElement;

const params = new URLSearchParams(location.search);
const fpsParam = Number(params.get('fps'));
const FPS_CAP = Number.isFinite(fpsParam) && fpsParam > 0 ? fpsParam : undefined;
const RESIZE = params.get('resize') === '1';
/** A page opened with `?token=` (http.users) hands it on to the wall and the full view's URLs. */
const TOKEN = params.get('token');
const withToken = (url: string) => withTokenOf(url, TOKEN);

const client = WallClient.shared(new URL('.', location.href).href, TOKEN);
const tiles = new Map<string, PageTile>();
let player: CameraPlayer | null = null;
let fullPrinter: string | null = null;

// For tests, debugging and the benchmarks: the wall's client, tiles, the full view's player, and the
// player class (bench/wall.ts plays HLS tiles with it, as the page did before the wall).
(window as unknown as { bambucamWall: unknown }).bambucamWall = {
  client,
  tiles,
  CameraPlayer,
  get player() {
    return player;
  },
  open: (id: string) => openFull(id),
  close: () => closeFull(),
};

function text(el: Element, selector: string, value: string): void {
  const node = el.querySelector(selector);
  if (node && node.textContent !== value) node.textContent = value;
}

/** The tile's drawn width in device pixels: what it asks the gateway for. */
function deviceWidth(el: HTMLElement): number {
  return Math.round(el.getBoundingClientRect().width * (window.devicePixelRatio || 1));
}

const observer = new IntersectionObserver((entries) => {
  for (const e of entries) {
    const id = (e.target as HTMLElement).dataset.printer;
    const tile = id ? tiles.get(id) : undefined;
    if (!tile) continue;
    tile.el.dataset.inView = String(e.isIntersecting);
    if (e.isIntersecting && RESIZE) tile.watch.setWidth(deviceWidth(tile.view.canvas));
    tile.watch.setWanted(e.isIntersecting);
  }
});

function createTile(p: WallPrinter): PageTile {
  const el = (template.content.firstElementChild as HTMLElement).cloneNode(true) as HTMLElement;
  el.dataset.printer = p.id;
  el.dataset.pictures = '0';
  text(el, '.name', p.name);
  const button = el.querySelector('.view') as HTMLElement;
  button.setAttribute('aria-label', `Live video of ${p.name}`);
  const view = new PictureView('picture', (v) => {
    el.dataset.pictures = String(v.drawn);
    el.dataset.seq = String(v.lastSeq);
    el.dataset.width = String(v.canvas.width);
  });
  view.canvas.setAttribute('role', 'img');
  view.canvas.setAttribute('aria-label', `Camera of ${p.name}`);
  button.prepend(view.canvas);
  button.addEventListener('click', () => openFull(p.id));
  const watch = client.watch(p.id, { fps: FPS_CAP, onPicture: (pic) => view.show(pic) });
  wallEl.appendChild(el);
  observer.observe(el);
  return { el, view, watch };
}

function render(): void {
  for (const p of client.printers.values()) {
    let tile = tiles.get(p.id);
    if (!tile) {
      tile = createTile(p);
      tiles.set(p.id, tile);
    }
    const badge = tile.el.querySelector('.badge') as HTMLElement;
    badge.className = `badge ${p.state}`;
    text(tile.el, '.badge', STATE_TEXT[p.state] ?? p.state);
    text(tile.el, '.overlay', p.state === 'streaming' ? '' : (p.reason ?? ''));
    text(tile.el, '.fps', `${p.fps.toFixed(1)} fps`);
  }
  for (const [id, tile] of tiles) {
    if (client.printers.has(id)) continue;
    observer.unobserve(tile.el);
    tile.watch.close();
    tile.view.close();
    tile.el.remove();
    tiles.delete(id);
  }
  const printers = [...client.printers.values()];
  const live = printers.filter((p) => p.state === 'streaming').length;
  summary.textContent =
    client.state === 'closed'
      ? 'gateway unreachable — retrying'
      : printers.length
        ? `${live} of ${printers.length} printer${printers.length === 1 ? '' : 's'} live`
        : client.state === 'open'
          ? 'no printers configured'
          : 'connecting…';
}

/** How old each visible tile's picture is, once a second. */
function ages(): void {
  const now = Date.now();
  for (const tile of tiles.values()) {
    if (tile.el.dataset.inView !== 'true') continue;
    const at = tile.view.lastReceivedAt;
    text(tile.el, '.age', at ? `${Math.max(0, (now - at) / 1000).toFixed(0)} s ago` : 'no picture yet');
  }
}

function openFull(id: string): void {
  const p = client.printers.get(id);
  if (!p) return;
  closeFull();
  fullPrinter = id;
  full.dataset.printer = id;
  text(full, '.name', p.name);
  const links = full.querySelector('.links') as HTMLElement;
  const urls = {
    snapshot: withToken(p.urls.snapshot),
    mjpeg: withToken(p.urls.mjpeg),
    hls: withToken(p.urls.hls),
    // WebRTC first while the gateway serves it (the API lists its WHEP URL then).
    ...(p.urls.whep ? { whep: withToken(p.urls.whep) } : {}),
  };
  (links.querySelector('.snapshot') as HTMLAnchorElement).href = urls.snapshot;
  (links.querySelector('.mjpeg') as HTMLAnchorElement).href = urls.mjpeg;
  (links.querySelector('.hls') as HTMLAnchorElement).href = urls.hls;
  (links.querySelector('.api') as HTMLAnchorElement).href = withToken(
    `api/printers/${encodeURIComponent(id)}`,
  );
  // The full view covers the wall: its tiles need no pictures meanwhile.
  client.setPaused(true);
  full.hidden = false;
  document.body.classList.add('full-open');
  player = new CameraPlayer(fullView, {
    urls,
    mode: 'auto',
    onMode: (mode, reason) => {
      full.dataset.mode = mode;
      text(full, '.mode', MODE_TEXT[mode]);
      (full.querySelector('.mode') as HTMLElement).title = reason ?? '';
    },
  });
  player.video.setAttribute('aria-label', `Live video of ${p.name}`);
  player.img.alt = `Camera of ${p.name}`;
  player.start();
  (full.querySelector('.close') as HTMLElement).focus();
}

/** Closing the full view destroys the player: the printer's HLS muxer and encoder go idle. */
function closeFull(): void {
  if (!fullPrinter) return;
  player?.destroy();
  player = null;
  const id = fullPrinter;
  fullPrinter = null;
  full.hidden = true;
  full.dataset.mode = 'none';
  document.body.classList.remove('full-open');
  client.setPaused(false);
  tiles.get(id)?.el.querySelector<HTMLElement>('.view')?.focus();
}

full.querySelector('.close')?.addEventListener('click', closeFull);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape') closeFull();
});
fullView.addEventListener('click', () => {
  if (document.fullscreenElement) void document.exitFullscreen();
  else void fullView.requestFullscreen?.();
});

// A tile drawn at another size asks for another width (the client only speaks when the bucket changes).
let resizeTimer: number | null = null;
window.addEventListener('resize', () => {
  if (resizeTimer !== null) window.clearTimeout(resizeTimer);
  resizeTimer = window.setTimeout(() => {
    for (const t of tiles.values())
      if (t.el.dataset.inView === 'true') t.watch.setWidth(deviceWidth(t.view.canvas));
  }, 250);
});

client.subscribe(render);
client.open();
render();
window.setInterval(ages, 1000);
