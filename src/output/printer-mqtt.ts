/**
 * The printer's MQTT link as outputs may use it (src/source/mqtt-link.ts implements it): connection
 * state, requests to the printer, and its events ('update' after every report, 'version',
 * 'connected', 'report' with each raw report). The native MQTT re-server (src/serve/native-mqtt/)
 * also reads the merged state and the cached get_version answer, forwards clients' requests and asks
 * for a pushall within the model's limits.
 */
import type { MqttLink } from '../source/mqtt-link';

export type PrinterMqtt = Pick<
  MqttLink,
  | 'connected'
  | 'request'
  | 'on'
  | 'off'
  | 'once'
  | 'state'
  | 'stateComplete'
  | 'fullStateAt'
  | 'versionInfo'
  | 'forward'
  | 'requestPushall'
>;
