/**
 * Tunables of the App, its workers and its outputs: timeouts and delays that tests shorten. Users set
 * none of these (the configuration has the user-facing keys); defaults live beside the code they tune.
 */
import type { NativeMqttTuning } from './serve/native-mqtt/mqtt-server';
import type { ViewerLimits } from './serve/rtsp/viewer';
import type { MqttLinkTuning } from './source/mqtt-link';
import type { WebrtcTuning } from './webrtc/webrtc-output';

export interface WorkerTuning {
  backoffMs?: number[];
  longBackoffMs?: number[];
  connectTimeoutMs?: number;
  frameTimeoutMs?: number;
  stallTimeoutMs?: number;
  /** A transcoder nobody wants is stopped after this long. */
  idleStopMs?: number;
  /** Restart waits of a crashed ffmpeg. */
  ffmpegBackoffMs?: number[];
  /** MQTT link tuning (backoff defaults to the camera's). */
  mqtt?: MqttLinkTuning;
  /** How long camera detection waits for the printer's MQTT model. */
  detectWaitMs?: number;
  probeTimeoutMs?: number;
  lightOffDelayMs?: number;
  /** HLS: stop the muxer after this long without requests; wait this long for the first playlist. */
  hlsIdleStopMs?: number;
  hlsStartWaitMs?: number;
}

export interface AppTuning extends WorkerTuning {
  mjpegResendMs?: number;
  snapshotWaitMs?: number;
  nativeAuthTimeoutMs?: number;
  /** Home Assistant: how often entity states are published. */
  haStateIntervalMs?: number;
  /** Home Assistant: wait between attempts to reach its broker. */
  haReconnectMs?: number;
  rtspViewer?: ViewerLimits;
  describeWaitMs?: number;
  /** Camera wall: cut a viewer whose socket took no picture for this long; ping and status intervals. */
  wallStallMs?: number;
  wallPingMs?: number;
  wallStatusIntervalMs?: number;
  /** WebRTC peers: connect and silence timeouts, parameter-set wait, keyframe request rate. */
  webrtc?: WebrtcTuning;
  /** The native MQTT servers (src/serve/native-mqtt/): timeouts, client limits, command rate. */
  nativeMqtt?: NativeMqttTuning;
}

/**
 * The one user key for idle stops (`idle_stop_s`, issue 10): the HLS muxer waits half of it for a
 * request and then lets go of the H.264, whose encoder waits the other half — the two delays run one
 * after the other, so each gets half and the encoder behind a closed player is gone within the key.
 * Encoders and decoders read directly (RTSP, snapshots, MJPEG, wall tiles) stop half of it after
 * their last reader.
 */
export function idleTuning(idleStopS: number): Pick<WorkerTuning, 'idleStopMs' | 'hlsIdleStopMs'> {
  const half = Math.round((idleStopS * 1000) / 2);
  return { idleStopMs: half, hlsIdleStopMs: half };
}
