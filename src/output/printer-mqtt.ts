/**
 * The printer's MQTT link as outputs may use it (src/source/mqtt-link.ts implements it): connection
 * state, requests to the printer, and its events ('update' after every report, 'version',
 * 'connected'). Outputs that need more (the raw reports for re-serving) widen this interface here.
 */
import type { MqttLink } from '../source/mqtt-link';

export type PrinterMqtt = Pick<MqttLink, 'connected' | 'request' | 'on' | 'off' | 'once'>;
