/**
 * MQTT clients for the MQTT fan-out benchmark: MQTT.js over TLS (no verification), subscribed to the
 * printer's report topic; each report's latency is read from the simulator's `print.sim_sent_at`.
 */
import { connect, type MqttClient } from 'mqtt';
import { preciseNow } from '../../src/simulator/chamber-camera';

export class MqttBenchClient {
  messages = 0;
  bytes = 0;
  latencies: number[] = [];
  recording = false;
  lastError: string | null = null;
  readonly client: MqttClient;
  /** Answers to this client's pushall requests, by sequence_id: time asked → time answered. */
  private readonly asked = new Map<string, number>();
  readonly answerMs: number[] = [];

  constructor(
    port: number,
    readonly topic: string,
    auth: { username?: string; password?: string },
  ) {
    this.client = connect(`mqtts://127.0.0.1:${port}`, {
      ...auth,
      protocolVersion: 4,
      clean: true,
      reconnectPeriod: 0,
      rejectUnauthorized: false,
    });
    this.client.on('error', (err) => {
      this.lastError = err.message;
    });
    this.client.on('connect', () => this.client.subscribe(topic, { qos: 0 }));
    this.client.on('message', (_topic, payload) => this.onMessage(payload));
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Ask for the full state; the answer's latency lands in `answerMs`. */
  pushall(requestTopic: string, sequenceId: string): void {
    this.asked.set(sequenceId, preciseNow());
    this.client.publish(
      requestTopic,
      JSON.stringify({ pushing: { sequence_id: sequenceId, command: 'pushall' } }),
    );
  }

  close(): void {
    this.client.end(true);
  }

  private onMessage(payload: Buffer): void {
    const now = preciseNow();
    this.messages++;
    this.bytes += payload.length;
    let print: { sim_sent_at?: number; sequence_id?: string } | undefined;
    try {
      print = JSON.parse(payload.toString()).print;
    } catch {
      return;
    }
    const askedAt = print?.sequence_id === undefined ? undefined : this.asked.get(print.sequence_id);
    if (askedAt !== undefined) {
      this.answerMs.push(now - askedAt);
      this.asked.delete(print!.sequence_id!);
      return;
    }
    if (this.recording && typeof print?.sim_sent_at === 'number')
      this.latencies.push(now - print.sim_sent_at);
  }
}
