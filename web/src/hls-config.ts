import type { HlsConfig } from 'hls.js';

/**
 * Low-latency settings for a live playlist of ~1 s segments (measured in bench/hls-latency.ts,
 * explained in docs/hls-and-card.md): stay 1 s behind the playlist's end, catch up by playing
 * faster rather than by jumping, keep little buffer, and parse in a worker.
 */
export const HLS_CONFIG: Partial<HlsConfig> = {
  lowLatencyMode: true,
  liveSyncDuration: 1,
  liveMaxLatencyDuration: 5,
  maxLiveSyncPlaybackRate: 1.5,
  maxBufferLength: 4,
  backBufferLength: 10,
  enableWorker: true,
  startFragPrefetch: true,
};
