/**
 * `custom:bambucam-card`: a Home Assistant dashboard (Lovelace) card showing one printer's camera
 * through bambucam: WebRTC (WHEP), else LL-HLS with hls.js (bundled in this one file), MJPEG and snapshot fallbacks, the
 * source state. Pauses while the tab is hidden and tears down when removed from the page.
 *
 * `mode: wall` is the cheap mode for dashboards with many printers: the printer's own pictures over
 * the camera wall's one WebSocket (shared by every wall card of the dashboard), no encoder, nothing
 * while out of view (`resize: true`: at the card's width); a tap opens live video in the card, a
 * second tap goes back.
 *
 * ```yaml
 * type: custom:bambucam-card
 * url: http://192.168.1.10:8090   # bambucam
 * printer: garage-p1s              # optional: the first printer
 * mode: auto                       # auto (WebRTC, then LL-HLS, MJPEG, snapshots) | webrtc | hls | mjpeg | snapshot | wall
 * fps: 1                           # optional, wall mode: at most this many pictures a second
 * resize: true                     # optional, wall mode: pictures at the card's width (fewer bytes)
 * token: 0123456789abcdef0123      # optional: a user's token when bambucam has http.users
 * ```
 */
import { type ActiveMode, CameraPlayer, type PlayerUrls, type PlayMode } from './player';
import { type PrinterStatus, type SourceState, STATE_TEXT } from './status';
import { withToken } from './token';
import { PictureView, WallClient, type Watch } from './wall-client';

/** The card's modes: the player's (PlayMode), plus the camera wall's pictures. */
export type CardMode = PlayMode | 'wall';

export interface BambucamCardConfig {
  type: string;
  url: string;
  printer?: string;
  mode?: CardMode;
  title?: string;
  fps?: number;
  resize?: boolean;
  /** A token of one of bambucam's `http.users`, sent as `?token=` with every request of the card. */
  token?: string;
}

/** Every mode `mode:` accepts: a new player mode is one more entry here. */
const MODES: readonly CardMode[] = ['auto', 'webrtc', 'hls', 'mjpeg', 'snapshot', 'wall'];
const STATUS_POLL_MS = 5000;

type ValidConfig = Required<Omit<BambucamCardConfig, 'title' | 'printer' | 'fps' | 'token'>> & {
  printer: string | null;
  title: string | null;
  fps: number | null;
  token: string | null;
};

/** Checks a card configuration; throws an Error whose message Home Assistant shows on the card. */
export function validateConfig(config: unknown): ValidConfig {
  if (!config || typeof config !== 'object' || Array.isArray(config))
    throw new Error('bambucam-card: the configuration must be a mapping with at least `url`');
  const c = config as Record<string, unknown>;
  if (typeof c.url !== 'string' || c.url.trim() === '')
    throw new Error(
      'bambucam-card: `url` is required: the address of bambucam, e.g. http://192.168.1.10:8090',
    );
  let url: URL;
  try {
    url = new URL(c.url);
  } catch {
    throw new Error(`bambucam-card: \`url\` "${c.url}" is not a URL; write it like http://192.168.1.10:8090`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error('bambucam-card: `url` must start with http:// or https://');
  if (c.printer !== undefined && c.printer !== null && c.printer !== '') {
    if (typeof c.printer !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(c.printer))
      throw new Error(
        'bambucam-card: `printer` must be a printer id from bambucam (letters, digits, - and _), e.g. garage-p1s',
      );
  }
  const mode = c.mode ?? 'auto';
  if (typeof mode !== 'string' || !MODES.includes(mode as CardMode))
    throw new Error(
      `bambucam-card: \`mode\` must be one of ${MODES.join(', ')} (got ${JSON.stringify(mode)})`,
    );
  if (c.title !== undefined && typeof c.title !== 'string')
    throw new Error('bambucam-card: `title` must be text');
  if (c.fps !== undefined && c.fps !== null && (typeof c.fps !== 'number' || !(c.fps >= 0.1 && c.fps <= 30)))
    throw new Error('bambucam-card: `fps` must be a number from 0.1 to 30 (pictures a second in wall mode)');
  if (c.resize !== undefined && typeof c.resize !== 'boolean')
    throw new Error(
      "bambucam-card: `resize` must be true or false (wall mode: pictures at the card's width)",
    );
  if (
    c.token !== undefined &&
    c.token !== null &&
    (typeof c.token !== 'string' || !/^[\x21-\x7e]{1,256}$/.test(c.token))
  )
    throw new Error(
      "bambucam-card: `token` must be one of bambucam's http.users tokens (printable characters, no spaces)",
    );
  return {
    type: String(c.type ?? 'custom:bambucam-card'),
    url: url.href.replace(/\/+$/, ''),
    printer: typeof c.printer === 'string' && c.printer ? c.printer : null,
    mode: mode as CardMode,
    title: typeof c.title === 'string' ? c.title : null,
    fps: typeof c.fps === 'number' ? c.fps : null,
    resize: c.resize === true,
    token: typeof c.token === 'string' ? c.token : null,
  };
}

const STYLE = `
  :host { display: block; }
  ha-card { display: block; overflow: hidden; }
  .head { display: flex; align-items: center; gap: 8px; padding: 8px 12px; }
  .title { flex: 1; font-weight: 500; }
  .badge { font-size: 12px; padding: 1px 8px; border-radius: 999px; background: #555; color: #fff; }
  .badge.streaming { background: #1f6f3f; }
  .badge.connecting, .badge.idle { background: #7a5b00; }
  .badge.offline, .badge.auth_failed, .badge.stopped, .badge.unreachable, .badge.locked { background: #8b1e2d; }
  .mode { font-size: 12px; opacity: 0.7; }
  .view { position: relative; background: #000; aspect-ratio: 16 / 9; cursor: zoom-in; }
  .view:fullscreen { cursor: zoom-out; }
  .view.wall { cursor: pointer; }
  .picture { width: 100%; height: 100%; object-fit: contain; display: block; }
  .picture[hidden] { display: none; }
  .note { position: absolute; inset: auto 0 0 0; margin: 0; padding: 4px 12px;
          background: rgba(0,0,0,.6); color: #ffb4b4; font-size: 13px; }
  .note:empty { display: none; }
`;

/** What a card shows in its view: a player (PlayMode) or a wall tile. */
interface CardView {
  readonly mode: ActiveMode | 'wall';
  start(): void;
  pause(): void;
  resume(): void;
  destroy(): void;
}

interface ViewContext {
  container: HTMLElement;
  config: ValidConfig;
  label: string;
  urls(printer: string | null): PlayerUrls;
  onMode(mode: ActiveMode | 'wall', reason: string | null): void;
  /** Wall mode: the printer's state from the wall's status messages (no polling). */
  onFacts(facts: { name: string; state: SourceState; reason: string | null }): void;
}

/** A player mode: HLS, MJPEG or snapshots through player.ts; a tap toggles full screen. */
function playerView(ctx: ViewContext): CardView {
  const player = new CameraPlayer(ctx.container, {
    urls: ctx.urls(ctx.config.printer),
    mode: ctx.config.mode as PlayMode,
    onMode: ctx.onMode,
  });
  player.video.setAttribute('aria-label', `Camera of ${ctx.label}`);
  player.img.alt = `Camera of ${ctx.label}`;
  const onClick = () => {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void ctx.container.requestFullscreen?.();
  };
  ctx.container.addEventListener('click', onClick);
  return {
    get mode() {
      return player.mode;
    },
    start: () => player.start(),
    pause: () => player.pause(),
    resume: () => player.resume(),
    destroy: () => {
      ctx.container.removeEventListener('click', onClick);
      player.destroy();
    },
  };
}

/**
 * `mode: wall`: the printer's own pictures over the shared wall connection while the card is in
 * view (the wall client itself stops everything in a hidden tab); a tap plays live video in the
 * card (player.ts, auto) and a second tap goes back, destroying the player.
 */
class WallCardView implements CardView {
  private readonly client: WallClient;
  private readonly picture: PictureView;
  private watch: Watch | null = null;
  private player: CameraPlayer | null = null;
  private printer: string | null;
  private inView = false;
  private readonly observer: IntersectionObserver;
  private readonly unsubscribe: () => void;
  private readonly onClick = () => (this.player ? this.closeVideo() : this.openVideo());

  constructor(private readonly ctx: ViewContext) {
    this.client = WallClient.shared(ctx.config.url, ctx.config.token);
    this.printer = ctx.config.printer;
    this.picture = new PictureView('picture wall', () => {
      ctx.container.dataset.pictures = String(this.picture.drawn);
    });
    this.picture.canvas.setAttribute('role', 'img');
    this.picture.canvas.setAttribute('aria-label', `Camera of ${ctx.label}`);
    ctx.container.classList.add('wall');
    ctx.container.title = 'Live video';
    ctx.container.prepend(this.picture.canvas);
    ctx.container.addEventListener('click', this.onClick);
    this.observer = new IntersectionObserver((entries) => {
      for (const e of entries) this.inView = e.isIntersecting;
      this.want();
    });
    this.unsubscribe = this.client.subscribe(() => this.clientChanged());
  }

  get mode(): ActiveMode | 'wall' {
    return this.player?.mode ?? 'wall';
  }

  start(): void {
    this.ctx.onMode('wall', null);
    this.observer.observe(this.ctx.container);
    this.clientChanged();
  }

  private clientChanged(): void {
    // No printer configured: the gateway's first, once its hello arrived.
    if (!this.printer) this.printer = this.client.printers.keys().next().value ?? null;
    if (this.printer && !this.watch) {
      this.watch = this.client.watch(this.printer, {
        fps: this.ctx.config.fps ?? undefined,
        onPicture: (p) => this.picture.show(p),
      });
      this.want();
    }
    const p = this.printer ? this.client.printers.get(this.printer) : undefined;
    if (p) this.ctx.onFacts(p);
    else if (this.client.lastError && this.printer) this.ctx.onMode('wall', this.client.lastError);
  }

  private want(): void {
    if (!this.watch) return;
    const r = this.ctx.container.getBoundingClientRect();
    // The printer's own picture unless asked (resizing costs the gateway CPU; docs/wall.md).
    if (this.ctx.config.resize && r.width > 0)
      this.watch.setWidth(Math.round(r.width * (window.devicePixelRatio || 1)));
    this.watch.setWanted(this.inView && !this.player);
  }

  private openVideo(): void {
    if (!this.printer) return;
    this.player = new CameraPlayer(this.ctx.container, {
      urls: this.ctx.urls(this.printer),
      mode: 'auto',
      onMode: this.ctx.onMode,
    });
    this.player.video.setAttribute('aria-label', `Live video of ${this.ctx.label}`);
    this.picture.canvas.hidden = true;
    this.want();
    this.player.start();
  }

  /** Back to the wall picture: the player is destroyed, so the printer's encoder can stop. */
  private closeVideo(): void {
    this.player?.destroy();
    this.player = null;
    this.picture.canvas.hidden = false;
    this.ctx.onMode('wall', null);
    this.want();
  }

  pause(): void {
    this.player?.pause();
  }

  resume(): void {
    this.player?.resume();
  }

  destroy(): void {
    this.observer.disconnect();
    this.unsubscribe();
    this.ctx.container.removeEventListener('click', this.onClick);
    this.watch?.close();
    this.watch = null;
    this.player?.destroy();
    this.player = null;
    this.picture.close();
    this.picture.canvas.remove();
  }
}

export class BambucamCard extends HTMLElement {
  private config: ValidConfig | null = null;
  private view: CardView | null = null;
  private statusTimer: number | null = null;
  private readonly root: ShadowRoot;
  private readonly onVisibility = () => this.visibilityChanged();
  // biome-ignore lint/suspicious/noExplicitAny: Home Assistant's hass object is not typed here
  private _hass: any = null;

  constructor() {
    super();
    this.root = this.attachShadow({ mode: 'open' });
  }

  /** Home Assistant calls this with the YAML; a throw shows the message as a card error. */
  setConfig(config: unknown): void {
    this.config = validateConfig(config);
    if (this.isConnected) this.build();
  }

  // biome-ignore lint/suspicious/noExplicitAny: see above
  set hass(hass: any) {
    this._hass = hass;
  }

  // biome-ignore lint/suspicious/noExplicitAny: see above
  get hass(): any {
    return this._hass;
  }

  /** The configuration the card picker starts from. */
  static getStubConfig(): Record<string, unknown> {
    return { url: 'http://homeassistant.local:8090', printer: '', mode: 'auto' };
  }

  getCardSize(): number {
    return 5;
  }

  getGridOptions(): Record<string, unknown> {
    return { columns: 12, min_columns: 6 };
  }

  get mode(): ActiveMode | 'wall' {
    return this.view?.mode ?? 'none';
  }

  connectedCallback(): void {
    document.addEventListener('visibilitychange', this.onVisibility);
    if (this.config) this.build();
  }

  disconnectedCallback(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.teardown();
  }

  private urls(printer: string | null): PlayerUrls & { status: string } {
    const c = this.config!;
    const base = printer ? `${c.url}/printers/${encodeURIComponent(printer)}` : c.url;
    // With http.users, every request carries the card's token (an <img> or a WebSocket cannot send headers).
    const t = (url: string) => withToken(url, c.token);
    return {
      whep: t(`${base}/whep`),
      hls: t(`${base}/hls/index.m3u8`),
      mjpeg: t(`${base}/stream.mjpeg`),
      snapshot: t(`${base}/snapshot.jpg`),
      status: t(printer ? `${c.url}/api/printers/${encodeURIComponent(printer)}` : `${c.url}/api/printers`),
    };
  }

  private build(): void {
    this.teardown();
    const c = this.config!;
    this.root.innerHTML = `<style>${STYLE}</style>
      <ha-card>
        <div class="head"><span class="title"></span><span class="mode"></span><span class="badge">…</span></div>
        <div class="view" title="Full screen"><p class="note"></p></div>
      </ha-card>`;
    const title = this.root.querySelector('.title') as HTMLElement;
    title.textContent = c.title ?? c.printer ?? 'Printer camera';
    const ctx: ViewContext = {
      container: this.root.querySelector('.view') as HTMLElement,
      config: c,
      label: title.textContent,
      urls: (printer) => this.urls(printer),
      onMode: (mode, reason) => {
        this.dataset.mode = mode;
        (this.root.querySelector('.mode') as HTMLElement).textContent = mode === 'none' ? '' : mode;
        (this.root.querySelector('.note') as HTMLElement).textContent = reason ?? '';
      },
      onFacts: (p) => this.showState(p.state, p.reason, p.name),
    };
    this.view = c.mode === 'wall' ? new WallCardView(ctx) : playerView(ctx);
    this.view.start();
    // The wall's status messages say the printer's state; other modes ask the API now and then.
    // Every mode asks once at start, which also tells a card without the right token why it is dark.
    void this.pollStatus();
    if (c.mode !== 'wall')
      this.statusTimer = window.setInterval(() => void this.pollStatus(), STATUS_POLL_MS);
    if (document.hidden) this.view.pause();
  }

  private showState(state: SourceState, reason: string | null, name: string): void {
    const badge = this.root.querySelector('.badge') as HTMLElement | null;
    if (!badge || !this.config) return;
    badge.className = `badge ${state}`;
    badge.textContent = STATE_TEXT[state] ?? state;
    badge.title = reason ?? '';
    if (!this.config.title) (this.root.querySelector('.title') as HTMLElement).textContent = name;
  }

  private async pollStatus(): Promise<void> {
    if (document.hidden || !this.config) return;
    const badge = this.root.querySelector('.badge') as HTMLElement | null;
    if (!badge) return;
    try {
      const res = await fetch(this.urls(this.config.printer).status, { cache: 'no-store' });
      if (res.status === 401) {
        badge.className = 'badge locked';
        badge.textContent = 'locked';
        badge.title = '';
        (this.root.querySelector('.note') as HTMLElement).textContent = this.config.token
          ? "bambucam refused the card's token: use a token of one of its http.users"
          : "bambucam asks for credentials (http.users): add `token:` with a user's token to the card";
        return;
      }
      const body = await res.json();
      const p: PrinterStatus | undefined = this.config.printer ? body : body.printers?.[0];
      if (!res.ok || !p) throw new Error(body?.message ?? `HTTP ${res.status}`);
      this.showState(p.source.state, p.source.reason, p.name);
    } catch (err) {
      badge.className = 'badge unreachable';
      badge.textContent = 'unreachable';
      badge.title = (err as Error).message;
    }
  }

  private visibilityChanged(): void {
    if (!this.view) return;
    if (document.hidden) this.view.pause();
    else {
      this.view.resume();
      if (this.config?.mode !== 'wall') void this.pollStatus();
    }
  }

  private teardown(): void {
    if (this.statusTimer !== null) window.clearInterval(this.statusTimer);
    this.statusTimer = null;
    this.view?.destroy();
    this.view = null;
    this.dataset.mode = 'none';
  }
}

declare global {
  interface Window {
    customCards?: {
      type: string;
      name: string;
      description: string;
      preview?: boolean;
      documentationURL?: string;
    }[];
  }
}

// Home Assistant may load a resource twice (dashboards, the card editor): define only once.
if (!customElements.get('bambucam-card')) {
  customElements.define('bambucam-card', BambucamCard);
  window.customCards = window.customCards ?? [];
  window.customCards.push({
    type: 'bambucam-card',
    name: 'bambucam camera',
    description:
      'Live camera of a BambuLab printer through bambucam: WebRTC, with LL-HLS, MJPEG and snapshot fallbacks, or the camera wall pictures (mode: wall).',
    preview: false,
    documentationURL: 'https://github.com/bambucam/bambucam/blob/main/docs/hls-and-card.md',
  });
}
