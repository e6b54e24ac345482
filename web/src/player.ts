/**
 * One camera view, shared by the page and the dashboard card: HLS with hls.js (bundled, never from
 * a CDN), native HLS where the browser has it (Safari), MJPEG when HLS fails, snapshots as the
 * last resort. The snapshot is the poster while the video starts.
 */
import Hls from 'hls.js';
import { HLS_CONFIG } from './hls-config';

export { HLS_CONFIG };

export type PlayMode = 'auto' | 'hls' | 'mjpeg' | 'snapshot';
export type ActiveMode = 'hls' | 'mjpeg' | 'snapshot' | 'none';

export interface PlayerUrls {
  hls: string;
  mjpeg: string;
  snapshot: string;
}

export interface PlayerOptions {
  urls: PlayerUrls;
  mode: PlayMode;
  /** Told whenever the player changes what it shows, with the reason of a fallback. */
  onMode?: (mode: ActiveMode, reason: string | null) => void;
  /** Snapshot mode refreshes the picture this often. */
  snapshotIntervalMs?: number;
  /** Give up on HLS when no picture has played this long after starting. */
  hlsStartTimeoutMs?: number;
  /** After a fallback in auto mode, ask for the playlist this often and go back to HLS when it works. */
  hlsRetryMs?: number;
}

const HLS_START_TIMEOUT_MS = 20_000;
const HLS_RETRY_MS = 60_000;

function bust(url: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}t=${Date.now()}`;
}

export class CameraPlayer {
  readonly video: HTMLVideoElement;
  readonly img: HTMLImageElement;
  hls: Hls | null = null;
  private current: ActiveMode = 'none';
  private snapshotTimer: number | null = null;
  private retryTimer: number | null = null;
  private destroyed = false;
  private startTimer: number | null = null;
  private paused = false;
  private recovered = false;

  constructor(
    container: HTMLElement,
    private readonly opts: PlayerOptions,
  ) {
    this.video = document.createElement('video');
    this.video.className = 'picture video';
    this.video.muted = true;
    this.video.autoplay = true;
    this.video.playsInline = true;
    this.video.poster = bust(opts.urls.snapshot);
    this.img = document.createElement('img');
    this.img.className = 'picture mjpeg';
    this.img.hidden = true;
    container.prepend(this.video, this.img);
  }

  get mode(): ActiveMode {
    return this.current;
  }

  start(): void {
    this.paused = false;
    const mode = this.opts.mode;
    if (mode === 'mjpeg') this.showMjpeg(null);
    else if (mode === 'snapshot') this.showSnapshots(null);
    else this.startHls();
  }

  private setMode(mode: ActiveMode, reason: string | null): void {
    this.current = mode;
    this.video.hidden = mode !== 'hls';
    this.img.hidden = mode === 'hls';
    this.opts.onMode?.(mode, reason);
  }

  private startHls(): void {
    const { urls } = this.opts;
    this.setMode('hls', null);
    this.startTimer = window.setTimeout(() => {
      if (this.video.currentTime === 0) this.fallback('HLS did not start playing');
    }, this.opts.hlsStartTimeoutMs ?? HLS_START_TIMEOUT_MS);
    if (Hls.isSupported()) {
      const hls = new Hls(HLS_CONFIG);
      this.hls = hls;
      hls.on(Hls.Events.ERROR, (_event, data) => {
        if (!data.fatal) return;
        // A decoding hiccup is worth one recovery; anything else (503, network) falls back.
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !this.recovered) {
          this.recovered = true;
          hls.recoverMediaError();
          return;
        }
        this.fallback(`HLS failed: ${data.details}`);
      });
      hls.on(Hls.Events.MANIFEST_PARSED, () => void this.video.play().catch(() => {}));
      hls.loadSource(urls.hls);
      hls.attachMedia(this.video);
    } else if (this.video.canPlayType('application/vnd.apple.mpegurl')) {
      this.video.src = urls.hls;
      this.video.addEventListener('error', () => this.fallback('HLS failed in the browser'), { once: true });
      void this.video.play().catch(() => {});
    } else this.fallback('this browser cannot play HLS');
  }

  private stopHls(): void {
    if (this.startTimer !== null) window.clearTimeout(this.startTimer);
    this.startTimer = null;
    this.hls?.destroy();
    this.hls = null;
    this.video.removeAttribute('src');
    this.video.load();
  }

  /** HLS is not working: MJPEG in auto mode; in hls mode show snapshots and say why. */
  private fallback(reason: string): void {
    this.stopHls();
    if (this.opts.mode === 'auto') {
      this.showMjpeg(reason);
      this.scheduleHlsRetry();
    } else this.showSnapshots(reason);
  }

  /** The printer may come back (or get ffmpeg): try HLS again once its playlist answers. */
  private scheduleHlsRetry(): void {
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(async () => {
      this.retryTimer = null;
      if (this.destroyed) return;
      if (this.paused) return this.scheduleHlsRetry();
      const ok = await fetch(this.opts.urls.hls, { cache: 'no-store' }).then(
        (r) => r.ok,
        () => false,
      );
      if (this.destroyed) return;
      if (!ok) return this.scheduleHlsRetry();
      this.stopImages();
      this.recovered = false;
      this.startHls();
    }, this.opts.hlsRetryMs ?? HLS_RETRY_MS);
  }

  private stopImages(): void {
    if (this.snapshotTimer !== null) window.clearInterval(this.snapshotTimer);
    this.snapshotTimer = null;
    this.img.onerror = null;
    this.img.removeAttribute('src');
  }

  private showMjpeg(reason: string | null): void {
    this.setMode('mjpeg', reason);
    this.img.onerror = () => {
      this.img.onerror = null;
      this.showSnapshots('MJPEG failed');
    };
    this.img.src = bust(this.opts.urls.mjpeg);
  }

  private showSnapshots(reason: string | null): void {
    this.setMode('snapshot', reason);
    this.img.onerror = null;
    const load = () => {
      if (!this.paused) this.img.src = bust(this.opts.urls.snapshot);
    };
    load();
    if (this.snapshotTimer === null)
      this.snapshotTimer = window.setInterval(load, this.opts.snapshotIntervalMs ?? 2000);
  }

  /** Stop fetching anything (hidden tab); resume() picks up where it was. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    if (this.current === 'hls') {
      this.hls?.stopLoad();
      this.video.pause();
    } else if (this.current === 'mjpeg') {
      this.img.onerror = null;
      this.img.removeAttribute('src');
    }
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.current === 'hls' && this.hls) {
      // Jump back to live rather than play what was missed.
      this.hls.startLoad(-1);
      void this.video.play().catch(() => {});
    } else if (this.current === 'mjpeg') this.showMjpeg(null);
    else if (this.current === 'snapshot') this.img.src = bust(this.opts.urls.snapshot);
  }

  destroy(): void {
    this.destroyed = true;
    this.stopHls();
    this.stopImages();
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.video.remove();
    this.img.remove();
    this.current = 'none';
  }
}
