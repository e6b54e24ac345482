/**
 * Home Assistant MQTT discovery: per printer a device with
 *  - an `image` entity whose `url_topic` carries the URL of bambucam's snapshot (HA fetches the JPEG
 *    over HTTP; the broker only ever carries a short URL, refreshed every `image_interval_s` while
 *    new frames arrive — see docs/home-assistant.md for why not MQTT camera payloads),
 *  - a connectivity binary_sensor for the camera stream, and sensors for fps and viewers.
 * Availability is `<base>/status`: "online" retained, "offline" as the retained last will.
 * Discovery is re-published when HA announces "online" on `<prefix>/status`; configs of printers
 * that left the configuration are removed (empty retained payload) when bambucam connects.
 */
import { randomBytes } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import type { HomeAssistantConfig } from '../config/load';
import type { Logger } from '../log';

/** What discovery needs to know about one printer, read on each refresh. */
export interface HaPrinterView {
  id: string;
  name: string;
  serial: string | null;
  /** Model name, or null when not known yet. */
  model: string | null;
  firmware: string | null;
  streaming: boolean;
  fps: number;
  viewers: number;
  /** Sequence number of the latest frame (0: none yet); the image URL is refreshed when it moves. */
  frameSeq: number;
}

export interface HaDiscoveryOptions {
  config: HomeAssistantConfig;
  /** How Home Assistant reaches bambucam's HTTP server, without a trailing slash. */
  baseUrl: string;
  /** A token of an `http.users` entry, added to the picture's URL when bambucam asks for authentication. */
  urlToken?: string | null;
  printers: () => HaPrinterView[];
  log: Logger;
  version: string;
  /** How often states (and changed discovery configs) are published. Default 5 s. */
  stateIntervalMs?: number;
  /** Longest wait for our retained discovery configs when (re)connecting. Default 5 s. */
  syncTimeoutMs?: number;
  /** Wait between attempts to reach the broker. Default 5 s. */
  reconnectMs?: number;
}

type Json = Record<string, unknown>;

interface Entity {
  component: 'image' | 'binary_sensor' | 'sensor';
  objectId: string;
  config: Json;
}

/** Topic-safe node id made from the base topic, so two bambucam instances do not clash. */
export function nodeIdFor(baseTopic: string): string {
  return baseTopic.replace(/[^a-zA-Z0-9_-]/g, '_');
}

export function availabilityTopic(config: HomeAssistantConfig): string {
  return `${config.baseTopic}/status`;
}

export function stateTopics(config: HomeAssistantConfig, id: string) {
  const base = `${config.baseTopic}/${id}`;
  return {
    stream: `${base}/stream`,
    fps: `${base}/fps`,
    viewers: `${base}/viewers`,
    imageUrl: `${base}/image_url`,
  };
}

/** The discovery entities of one printer (pure; tested against Home Assistant's schema). */
export function printerEntities(
  config: HomeAssistantConfig,
  baseUrl: string,
  version: string,
  p: HaPrinterView,
): Entity[] {
  const uid = `bambucam_${(p.serial ?? p.id).toLowerCase()}`;
  const topics = stateTopics(config, p.id);
  const device: Json = {
    identifiers: [uid],
    name: p.name,
    manufacturer: 'Bambu Lab',
    configuration_url: `${baseUrl}/`,
  };
  if (p.model) device.model = p.model;
  if (p.serial) device.serial_number = p.serial;
  if (p.firmware) device.sw_version = p.firmware;
  const common = (suffix: string, name: string): Json => ({
    name,
    unique_id: `${uid}_${suffix}`,
    availability: [{ topic: availabilityTopic(config) }],
    device,
    origin: { name: 'bambucam', sw_version: version },
  });
  return [
    {
      component: 'image',
      objectId: `${p.id}_camera`,
      config: { ...common('camera', 'Camera'), url_topic: topics.imageUrl },
    },
    {
      component: 'binary_sensor',
      objectId: `${p.id}_stream`,
      config: {
        ...common('stream', 'Camera stream'),
        state_topic: topics.stream,
        device_class: 'connectivity',
        payload_on: 'ON',
        payload_off: 'OFF',
        entity_category: 'diagnostic',
      },
    },
    {
      component: 'sensor',
      objectId: `${p.id}_fps`,
      config: {
        ...common('fps', 'Camera frame rate'),
        state_topic: topics.fps,
        unit_of_measurement: 'fps',
        state_class: 'measurement',
        suggested_display_precision: 1,
        icon: 'mdi:filmstrip',
        entity_category: 'diagnostic',
      },
    },
    {
      component: 'sensor',
      objectId: `${p.id}_viewers`,
      config: {
        ...common('viewers', 'Camera viewers'),
        state_topic: topics.viewers,
        state_class: 'measurement',
        icon: 'mdi:eye',
        entity_category: 'diagnostic',
      },
    },
  ];
}

export class HaDiscovery {
  private client: MqttClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly nodeId: string;
  /** Discovery topic → config JSON last published (to re-publish only what changed). */
  private readonly published = new Map<string, string>();
  /** State topic → payload last published. */
  private readonly states = new Map<string, string>();
  private readonly imageSeq = new Map<string, { seq: number; at: number }>();
  private syncing: Promise<void> | null = null;
  /** True once stale configs are cleared and "online" is published on this connection. */
  private ready = false;

  constructor(private readonly opts: HaDiscoveryOptions) {
    this.nodeId = nodeIdFor(opts.config.baseTopic);
  }

  private get prefix(): string {
    return this.opts.config.discoveryPrefix;
  }

  private configTopic(e: Entity): string {
    return `${this.prefix}/${e.component}/${this.nodeId}/${e.objectId}/config`;
  }

  /** Connect (the broker may come later: MQTT.js keeps retrying) and start publishing. */
  start(): void {
    const { config, log } = this.opts;
    const url = config.url;
    if (!url) return;
    const client = connect(url, {
      username: config.username ?? undefined,
      password: config.password ?? undefined,
      clientId: `bambucam_${this.nodeId}_${randomBytes(3).toString('hex')}`,
      clean: true,
      keepalive: 30,
      reconnectPeriod: this.opts.reconnectMs ?? 5000,
      connectTimeout: 10_000,
      will: { topic: availabilityTopic(config), payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.client = client;
    const shown = url.replace(/\/\/[^@/]*@/, '//');
    let lastError: string | null = null;
    client.on('close', () => {
      this.ready = false;
    });
    client.on('connect', () => {
      lastError = null;
      log.info(`connected to the Home Assistant MQTT broker at ${shown}`);
      this.syncing = this.onConnect().catch((err: Error) => log.warn(`discovery failed: ${err.message}`));
    });
    client.on('message', (topic, payload, packet) => {
      // HA's birth message: it (re)started and needs the discovery configs again.
      if (topic === `${this.prefix}/status` && payload.toString() === 'online' && !packet.retain) {
        log.info('Home Assistant is online: publishing discovery again');
        this.published.clear();
        this.states.clear();
        this.refresh();
      }
    });
    client.on('reconnect', () => log.debug(`reconnecting to ${shown}`));
    client.on('error', (err) => {
      // MQTT.js keeps retrying: say it once, not at every attempt.
      if (err.message === lastError) return;
      lastError = err.message;
      log.warn(`Home Assistant MQTT broker at ${shown}: ${err.message}; retrying until it answers`);
    });
    this.timer = setInterval(() => this.refresh(), this.opts.stateIntervalMs ?? 5000);
  }

  /** Publish "offline" (bambucam is going away on purpose) and disconnect. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const client = this.client;
    this.client = null;
    if (!client) return;
    await this.syncing;
    if (client.connected) {
      await client
        .publishAsync(availabilityTopic(this.opts.config), 'offline', { qos: 1, retain: true })
        .catch(() => {});
    }
    await client.endAsync();
  }

  private async onConnect(): Promise<void> {
    const client = this.client;
    if (!client) return;
    await this.removeStaleConfigs(client);
    await client.subscribeAsync(`${this.prefix}/status`, { qos: 0 });
    await client.publishAsync(availabilityTopic(this.opts.config), 'online', { qos: 1, retain: true });
    this.published.clear();
    this.states.clear();
    this.ready = true;
    this.refresh();
  }

  /**
   * Read our retained discovery configs (`<prefix>/+/<node>/+/config`) and clear those of printers
   * no longer configured. A message we publish to ourselves after subscribing arrives after the
   * retained ones (the broker handles one client's packets in order), so it marks the end.
   */
  private async removeStaleConfigs(client: MqttClient): Promise<void> {
    const pattern = `${this.prefix}/+/${this.nodeId}/+/config`;
    const marker = `${this.opts.config.baseTopic}/sync/${randomBytes(6).toString('hex')}`;
    const seen = new Set<string>();
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const ours = new RegExp(`^${esc(this.prefix)}/[^/]+/${esc(this.nodeId)}/[^/]+/config$`);
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(finish, this.opts.syncTimeoutMs ?? 5000);
      function finish() {
        clearTimeout(timer);
        client.off('message', onMessage);
        resolve();
      }
      function onMessage(topic: string, payload: Buffer) {
        if (topic === marker) return finish();
        if (payload.length > 0 && ours.test(topic)) seen.add(topic);
      }
      client.on('message', onMessage);
    });
    await client.subscribeAsync([pattern, marker], { qos: 0 });
    await client.publishAsync(marker, 'sync', { qos: 0 });
    await done;
    await client.unsubscribeAsync([pattern, marker]);
    const wanted = new Set(this.entities().map((e) => this.configTopic(e)));
    for (const topic of seen) {
      if (wanted.has(topic)) continue;
      this.opts.log.info(`removing a Home Assistant entity of a printer no longer configured: ${topic}`);
      await client.publishAsync(topic, '', { qos: 1, retain: true });
    }
  }

  private entities(): Entity[] {
    const { config, baseUrl, version } = this.opts;
    return this.opts.printers().flatMap((p) => printerEntities(config, baseUrl, version, p));
  }

  private publishIfChanged(cache: Map<string, string>, topic: string, payload: string): void {
    if (cache.get(topic) === payload) return;
    cache.set(topic, payload);
    this.client?.publish(topic, payload, { qos: 1, retain: true });
  }

  /** Publish configs that changed (a model learnt over MQTT) and states that changed. */
  private refresh(): void {
    const client = this.client;
    if (!client?.connected || !this.ready) return;
    const { config, baseUrl } = this.opts;
    for (const e of this.entities())
      this.publishIfChanged(this.published, this.configTopic(e), JSON.stringify(e.config));
    const now = Date.now();
    const intervalMs = config.imageIntervalS * 1000;
    for (const p of this.opts.printers()) {
      const t = stateTopics(config, p.id);
      this.publishIfChanged(this.states, t.stream, p.streaming ? 'ON' : 'OFF');
      this.publishIfChanged(this.states, t.fps, (Math.round(p.fps * 10) / 10).toString());
      this.publishIfChanged(this.states, t.viewers, String(p.viewers));
      // A new URL makes HA fetch the picture again: only when a newer frame exists, at most every interval.
      const last = this.imageSeq.get(p.id);
      const due =
        !this.states.has(t.imageUrl) ||
        (intervalMs > 0 && p.frameSeq !== (last?.seq ?? 0) && now - (last?.at ?? 0) >= intervalMs);
      if (due) {
        this.imageSeq.set(p.id, { seq: p.frameSeq, at: now });
        const query = new URLSearchParams();
        if (this.opts.urlToken) query.set('token', this.opts.urlToken);
        if (intervalMs > 0) query.set('t', String(now));
        const url = `${baseUrl}/printers/${encodeURIComponent(p.id)}/snapshot.jpg`;
        this.publishIfChanged(this.states, t.imageUrl, query.size ? `${url}?${query}` : url);
      }
    }
  }
}
