/**
 * `custom:bambucam-card`: a Home Assistant dashboard (Lovelace) card showing one printer's camera
 * through bambucam: HLS with hls.js (bundled in this one file), MJPEG and snapshot fallbacks, the
 * source state. Pauses while the tab is hidden and tears down when removed from the page.
 *
 * ```yaml
 * type: custom:bambucam-card
 * url: http://192.168.1.10:8090   # bambucam
 * printer: garage-p1s              # optional: the first printer
 * mode: auto                       # auto | hls | mjpeg | snapshot
 * ```
 */
import { type ActiveMode, CameraPlayer, type PlayMode } from './player';
import { type PrinterStatus, STATE_TEXT } from './status';

export interface BambucamCardConfig {
  type: string;
  url: string;
  printer?: string;
  mode?: PlayMode;
  title?: string;
}

const MODES: readonly PlayMode[] = ['auto', 'hls', 'mjpeg', 'snapshot'];
const STATUS_POLL_MS = 5000;

/** Checks a card configuration; throws an Error whose message Home Assistant shows on the card. */
export function validateConfig(config: unknown): Required<Omit<BambucamCardConfig, 'title' | 'printer'>> & {
  printer: string | null;
  title: string | null;
} {
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
  if (typeof mode !== 'string' || !MODES.includes(mode as PlayMode))
    throw new Error(
      `bambucam-card: \`mode\` must be one of ${MODES.join(', ')} (got ${JSON.stringify(mode)})`,
    );
  if (c.title !== undefined && typeof c.title !== 'string')
    throw new Error('bambucam-card: `title` must be text');
  return {
    type: String(c.type ?? 'custom:bambucam-card'),
    url: url.href.replace(/\/+$/, ''),
    printer: typeof c.printer === 'string' && c.printer ? c.printer : null,
    mode: mode as PlayMode,
    title: typeof c.title === 'string' ? c.title : null,
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
  .badge.offline, .badge.auth_failed, .badge.stopped, .badge.unreachable { background: #8b1e2d; }
  .mode { font-size: 12px; opacity: 0.7; }
  .view { position: relative; background: #000; aspect-ratio: 16 / 9; cursor: zoom-in; }
  .view:fullscreen { cursor: zoom-out; }
  .picture { width: 100%; height: 100%; object-fit: contain; display: block; }
  .picture[hidden] { display: none; }
  .note { position: absolute; inset: auto 0 0 0; margin: 0; padding: 4px 12px;
          background: rgba(0,0,0,.6); color: #ffb4b4; font-size: 13px; }
  .note:empty { display: none; }
`;

export class BambucamCard extends HTMLElement {
  private config: ReturnType<typeof validateConfig> | null = null;
  private player: CameraPlayer | null = null;
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

  get mode(): ActiveMode {
    return this.player?.mode ?? 'none';
  }

  connectedCallback(): void {
    document.addEventListener('visibilitychange', this.onVisibility);
    if (this.config) this.build();
  }

  disconnectedCallback(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.teardown();
  }

  private urls() {
    const c = this.config!;
    const base = c.printer ? `${c.url}/printers/${encodeURIComponent(c.printer)}` : c.url;
    return {
      hls: `${base}/hls/index.m3u8`,
      mjpeg: `${base}/stream.mjpeg`,
      snapshot: `${base}/snapshot.jpg`,
      status: c.printer ? `${c.url}/api/printers/${encodeURIComponent(c.printer)}` : `${c.url}/api/printers`,
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
    const view = this.root.querySelector('.view') as HTMLElement;
    view.addEventListener('click', () => {
      if (document.fullscreenElement) void document.exitFullscreen();
      else void view.requestFullscreen?.();
    });
    const urls = this.urls();
    this.player = new CameraPlayer(view, {
      urls,
      mode: c.mode,
      onMode: (mode, reason) => {
        this.dataset.mode = mode;
        (this.root.querySelector('.mode') as HTMLElement).textContent = mode === 'none' ? '' : mode;
        (this.root.querySelector('.note') as HTMLElement).textContent = reason ?? '';
      },
    });
    this.player.video.setAttribute('aria-label', `Camera of ${title.textContent}`);
    this.player.img.alt = `Camera of ${title.textContent}`;
    this.player.start();
    void this.pollStatus();
    this.statusTimer = window.setInterval(() => void this.pollStatus(), STATUS_POLL_MS);
    if (document.hidden) this.player.pause();
  }

  private async pollStatus(): Promise<void> {
    if (document.hidden || !this.config) return;
    const badge = this.root.querySelector('.badge') as HTMLElement | null;
    if (!badge) return;
    try {
      const res = await fetch(this.urls().status, { cache: 'no-store' });
      const body = await res.json();
      const p: PrinterStatus | undefined = this.config.printer ? body : body.printers?.[0];
      if (!res.ok || !p) throw new Error(body?.message ?? `HTTP ${res.status}`);
      badge.className = `badge ${p.source.state}`;
      badge.textContent = STATE_TEXT[p.source.state] ?? p.source.state;
      badge.title = p.source.reason ?? '';
      if (!this.config.title) (this.root.querySelector('.title') as HTMLElement).textContent = p.name;
    } catch (err) {
      badge.className = 'badge unreachable';
      badge.textContent = 'unreachable';
      badge.title = (err as Error).message;
    }
  }

  private visibilityChanged(): void {
    if (!this.player) return;
    if (document.hidden) this.player.pause();
    else {
      this.player.resume();
      void this.pollStatus();
    }
  }

  private teardown(): void {
    if (this.statusTimer !== null) window.clearInterval(this.statusTimer);
    this.statusTimer = null;
    this.player?.destroy();
    this.player = null;
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
      'Live camera of a BambuLab printer through bambucam: HLS, with MJPEG and snapshot fallbacks.',
    preview: false,
    documentationURL: 'https://github.com/bambucam/bambucam/blob/main/docs/hls-and-card.md',
  });
}
