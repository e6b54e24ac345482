/**
 * Tunables of the App, its workers and its outputs: timeouts and delays that tests shorten. Users set
 * none of these (the configuration has the user-facing keys); defaults live beside the code they tune.
 */
import type { NativeMqttTuning } from './serve/native-mqtt/mqtt-server';
import type { ViewerLimits } from './serve/rtsp/viewer';
import type { MqttLinkTuning } from './source/mqtt-link';

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
  /** The native MQTT servers (src/serve/native-mqtt/): timeouts, client limits, command rate. */
  nativeMqtt?: NativeMqttTuning;
}
