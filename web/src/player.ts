/**
 * One camera view, shared by the page and the dashboard card: WebRTC (WHEP) for the lowest latency,
 * LL-HLS with hls.js (bundled, never from a CDN) or native HLS (Safari) when WebRTC fails, MJPEG when
 * HLS fails, snapshots as the last resort. The snapshot is the poster while the video starts.
 */
import Hls from 'hls.js';
import { HLS_CONFIG } from './hls-config';
import { WhepClient, WhepError } from './webrtc';

export { HLS_CONFIG };

export type PlayMode = 'auto' | 'webrtc' | 'hls' | 'mjpeg' | 'snapshot';
export type ActiveMode = 'webrtc' | 'hls' | 'mjpeg' | 'snapshot' | 'none';

export interface PlayerUrls {
  /** The printer's WHEP endpoint (/printers/<id>/whep); without it the player starts with HLS. */
  whep?: string;
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
  /** Give up on WebRTC when no picture has played this long after the offer (no UDP path, say). */
  webrtcStartTimeoutMs?: number;
  /** Give up on HLS when no picture has played this long after starting. */
  hlsStartTimeoutMs?: number;
  /** After a fallback in auto mode, ask for the playlist this often and go back to HLS when it works. */
  hlsRetryMs?: number;
}

const HLS_START_TIMEOUT_MS = 20_000;
const HLS_RETRY_MS = 60_000;
const WEBRTC_START_TIMEOUT_MS = 10_000;
/** A WebRTC connection lost after playing is re-made at once, at most this often; else it falls back. */
const WEBRTC_RECONNECT_MS = 30_000;

function bust(url: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}t=${Date.now()}`;
}

export class CameraPlayer {
  readonly video: HTMLVideoElement;
  readonly img: HTMLImageElement;
  hls: Hls | null = null;
  /** The WHEP session while WebRTC plays (for tests and benchmarks: its RTCPeerConnection). */
  whep: WhepClient | null = null;
  private current: ActiveMode = 'none';
  /** False once WebRTC failed in a way a retry will not mend (no UDP path, no WHEP endpoint). */
  private webrtcWorth = true;
  private lastReconnectAt = 0;
  private readonly onPageHide = () => this.stopWebrtc();
  /** Back from the browser's page cache: the session ended with the page, make a new one. */
  private readonly onPageShow = (e: PageTransitionEvent) => {
    if (e.persisted && this.current === 'webrtc' && !this.whep && !this.paused) this.startWebrtc();
  };
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
    window.addEventListener('pagehide', this.onPageHide);
    window.addEventListener('pageshow', this.onPageShow);
  }

  get mode(): ActiveMode {
    return this.current;
  }

  start(): void {
    this.paused = false;
    const mode = this.opts.mode;
    if (mode === 'mjpeg') this.showMjpeg(null);
    else if (mode === 'snapshot') this.showSnapshots(null);
    else if (mode === 'hls') this.startHls(null);
    else if (this.canWebrtc()) this.startWebrtc();
    else if (mode === 'auto') this.startHls(null);
    else this.showSnapshots('this browser or this gateway has no WebRTC');
  }

  private setMode(mode: ActiveMode, reason: string | null): void {
    this.current = mode;
    const video = mode === 'hls' || mode === 'webrtc';
    this.video.hidden = !video;
    this.img.hidden = video;
    this.opts.onMode?.(mode, reason);
  }

  private canWebrtc(): boolean {
    return Boolean(this.opts.urls.whep) && typeof RTCPeerConnection !== 'undefined' && this.webrtcWorth;
  }

  private startWebrtc(): void {
    this.setMode('webrtc', null);
    const client = new WhepClient(this.opts.urls.whep!, this.video, {
      onLost: (reason) => {
        if (client !== this.whep) return;
        // A gateway restart or a network change: one new session at once, then fall back.
        if (Date.now() - this.lastReconnectAt > WEBRTC_RECONNECT_MS) {
          this.lastReconnectAt = Date.now();
          this.stopWebrtc();
          this.startWebrtc();
        } else this.webrtcFailed(reason, false);
      },
    });
    this.whep = client;
    this.startTimer = window.setTimeout(() => {
      if (client === this.whep && !(this.video.readyState >= 2 && this.video.videoWidth > 0))
        this.webrtcFailed('WebRTC did not start playing (no UDP path to the gateway?)', false);
    }, this.opts.webrtcStartTimeoutMs ?? WEBRTC_START_TIMEOUT_MS);
    client.start().catch((err: Error) => {
      if (client !== this.whep) return;
      // The printer has no picture yet, or the gateway is full: worth another try later. Anything
      // else (WebRTC turned off, an older gateway without WHEP, a bad answer) is not.
      const temporary =
        err instanceof WhepError && (err.code === 'no_video_yet' || err.code === 'too_many_peers');
      this.webrtcFailed(err.message, temporary);
    });
  }

  private stopWebrtc(): void {
    if (!this.whep) return;
    if (this.startTimer !== null) window.clearTimeout(this.startTimer);
    this.startTimer = null;
    this.whep.stop();
    this.whep = null;
  }

  /** WebRTC is not working: LL-HLS in auto mode; in webrtc mode show snapshots and say why. */
  private webrtcFailed(reason: string, worthRetry: boolean): void {
    this.stopWebrtc();
    this.webrtcWorth = worthRetry;
    if (this.opts.mode === 'auto') this.startHls(reason);
    else {
      this.showSnapshots(reason);
      if (worthRetry) this.scheduleHlsRetry();
    }
  }

  private startHls(reason: string | null): void {
    const { urls } = this.opts;
    this.setMode('hls', reason);
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
      if (this.opts.mode === 'webrtc') {
        this.stopImages();
        return this.startWebrtc();
      }
      const ok = await fetch(this.opts.urls.hls, { cache: 'no-store' }).then(
        (r) => r.ok,
        () => false,
      );
      if (this.destroyed) return;
      if (!ok) return this.scheduleHlsRetry();
      this.stopImages();
      this.recovered = false;
      // Back to the best mode that may work: WebRTC when it failed only for want of a picture.
      if (this.canWebrtc()) this.startWebrtc();
      else this.startHls(null);
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
    // A hidden view ends its WebRTC session, so the gateway's encoder can go idle.
    if (this.current === 'webrtc') this.stopWebrtc();
    else if (this.current === 'hls') {
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
    if (this.current === 'webrtc') this.startWebrtc();
    else if (this.current === 'hls' && this.hls) {
      // Jump back to live rather than play what was missed.
      this.hls.startLoad(-1);
      void this.video.play().catch(() => {});
    } else if (this.current === 'mjpeg') this.showMjpeg(null);
    else if (this.current === 'snapshot') this.img.src = bust(this.opts.urls.snapshot);
  }

  destroy(): void {
    this.destroyed = true;
    window.removeEventListener('pagehide', this.onPageHide);
    window.removeEventListener('pageshow', this.onPageShow);
    this.stopWebrtc();
    this.stopHls();
    this.stopImages();
    if (this.retryTimer !== null) window.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.video.remove();
    this.img.remove();
    this.current = 'none';
  }
}
