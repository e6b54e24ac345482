/**
 * Browser side of bench/webrtc-latency.ts (bundled by esbuild, run in Chromium): plays a printer
 * over WebRTC (the web player's own WHEP client) and over LL-HLS (hls.js with the player's settings)
 * side by side, and reads the simulator's clock strip from every picture the browser presents.
 * Glass-to-glass latency of a picture = when it is presented − the wall-clock time drawn into it,
 * taken once per picture (when the drawn time changes), so a picture shown for several frames counts
 * once, at its first appearance.
 */
import Hls from 'hls.js';
import { readTimecode, TIMECODE_BLOCK, TIMECODE_WIDTH, timecodeAge } from '../../src/simulator/timecode';
import { HLS_CONFIG } from '../../web/src/hls-config';
import { WhepClient } from '../../web/src/webrtc';

interface Viewer {
  video: HTMLVideoElement;
  whep?: WhepClient;
  hls?: Hls;
  ages: number[];
  /** WebRTC: presented − last packet received (jitter buffer, decode, render), per picture. */
  inBrowser: number[];
  unreadable: number;
  recording: boolean;
}

const viewers: Viewer[] = [];

function watch(viewer: Viewer): void {
  const canvas = document.createElement('canvas');
  canvas.width = TIMECODE_WIDTH;
  canvas.height = TIMECODE_BLOCK;
  const ctx = canvas.getContext('2d', { willReadFrequently: true }) as CanvasRenderingContext2D;
  let last: number | null = null;
  const onFrame = (_now: number, meta: VideoFrameCallbackMetadata) => {
    const shownAt = performance.timeOrigin + meta.expectedDisplayTime;
    const { video } = viewer;
    // Reading pictures costs the page CPU: only while recording (the first picture read sets `last`).
    if (!viewer.recording) last = null;
    else if (video.videoWidth >= TIMECODE_WIDTH) {
      ctx.drawImage(video, 0, 0, TIMECODE_WIDTH, TIMECODE_BLOCK, 0, 0, TIMECODE_WIDTH, TIMECODE_BLOCK);
      const px = ctx.getImageData(0, 0, TIMECODE_WIDTH, TIMECODE_BLOCK).data;
      const value = readTimecode((x, y) => {
        const i = (y * TIMECODE_WIDTH + x) * 4;
        return 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
      });
      if (value === null) viewer.unreadable++;
      else if (last === null) last = value;
      else if (value !== last) {
        last = value;
        viewer.ages.push(timecodeAge(value, shownAt));
        if (meta.receiveTime !== undefined)
          viewer.inBrowser.push(shownAt - (performance.timeOrigin + meta.receiveTime));
      }
    }
    video.requestVideoFrameCallback(onFrame);
  };
  viewer.video.requestVideoFrameCallback(onFrame);
}

function newVideo(label: string, width: number): HTMLVideoElement {
  const figure = document.createElement('figure');
  figure.style.cssText = 'display:inline-block;margin:4px;color:#eee;font:14px sans-serif';
  const video = document.createElement('video');
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  video.width = width;
  const caption = document.createElement('figcaption');
  caption.textContent = label;
  figure.append(video, caption);
  document.body.append(figure);
  return video;
}

const api = {
  /**
   * Start a WebRTC viewer; resolves with its index once the answer is applied. `width` 0: a peer
   * that receives without showing (no <video> in the page), for counting the gateway's cost per
   * peer without ten decoders fighting for the machine's two cores.
   */
  async webrtc(url: string, label: string, width = 640): Promise<number> {
    const video = width ? newVideo(label, width) : document.createElement('video');
    const viewer: Viewer = { video, ages: [], inBrowser: [], unreadable: 0, recording: false };
    viewer.whep = new WhepClient(url, video, { onLost: (reason) => console.warn(`${label}: ${reason}`) });
    await viewer.whep.start();
    if (width) watch(viewer);
    return viewers.push(viewer) - 1;
  },
  /** Start an LL-HLS viewer (hls.js with the web player's settings). */
  hls(url: string, label: string, width = 640): number {
    const video = newVideo(label, width);
    const viewer: Viewer = { video, ages: [], inBrowser: [], unreadable: 0, recording: false };
    viewer.hls = new Hls(HLS_CONFIG);
    viewer.hls.loadSource(url);
    viewer.hls.attachMedia(video);
    watch(viewer);
    return viewers.push(viewer) - 1;
  },
  record(indexes: number[], on: boolean): void {
    for (const i of indexes) {
      viewers[i].recording = on;
      if (on) {
        viewers[i].ages = [];
        viewers[i].inBrowser = [];
        viewers[i].unreadable = 0;
      }
    }
  },
  result(i: number): {
    ages: number[];
    inBrowser: number[];
    unreadable: number;
    width: number;
    height: number;
  } {
    const v = viewers[i];
    return {
      ages: v.ages,
      inBrowser: v.inBrowser,
      unreadable: v.unreadable,
      width: v.video.videoWidth,
      height: v.video.videoHeight,
    };
  },
  /** RTP packets received so far by each of these WebRTC viewers (getStats), -1 for others. */
  async packetsReceived(indexes: number[]): Promise<number[]> {
    return Promise.all(
      indexes.map(async (i) => {
        const pc = viewers[i].whep?.pc;
        if (!pc) return -1;
        let n = 0;
        (await pc.getStats()).forEach((s) => {
          if (s.type === 'inbound-rtp' && s.kind === 'video') n = s.packetsReceived ?? 0;
        });
        return n;
      }),
    );
  },
  stop(indexes: number[]): void {
    for (const i of indexes) {
      viewers[i].whep?.stop();
      viewers[i].hls?.destroy();
      viewers[i].video.parentElement?.remove();
    }
  },
};

(window as unknown as { bench: typeof api }).bench = api;
