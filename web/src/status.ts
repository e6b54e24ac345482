/** The parts of /api/printers that the page and the card read. */
export interface PrinterStatus {
  id: string;
  name: string;
  fps: number;
  last_frame_age_ms: number | null;
  viewers: Record<string, number>;
  source: { state: string; reason: string | null; next_retry_at: string | null };
  /** whep: present while the gateway serves WebRTC. */
  urls: { snapshot: string; mjpeg: string; hls: string; whep?: string };
  /** From the printer's MQTT link, when configured. */
  mqtt?: { ipcam?: { liveview?: string } } | null;
}

export const STATE_TEXT: Record<string, string> = {
  streaming: 'live',
  connecting: 'connecting',
  idle: 'starting',
  offline: 'offline',
  auth_failed: 'wrong access code',
  stopped: 'stopped',
};
