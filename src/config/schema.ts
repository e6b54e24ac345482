/**
 * The configuration schema: the one truth for keys, defaults, environment overrides and docs.
 * Printers are a list; each entry is validated on its own against `printerSchema`, so a bad entry
 * is reported with its index and skipped while the others run.
 */
import { MODEL_NAMES } from '../protocol/models';
import { formats } from './formats';

export const gatewaySchema = {
  http: {
    port: {
      doc: 'TCP port of the HTTP server (web page, snapshot, MJPEG, HLS, API, metrics).',
      format: 'port',
      default: 8090,
      env: 'BAMBUCAM_HTTP_PORT',
    },
    host: {
      doc: 'Address the HTTP server listens on. 0.0.0.0 for every IPv4 interface, 127.0.0.1 for this machine only.',
      format: formats.host,
      default: '0.0.0.0',
      env: 'BAMBUCAM_HTTP_HOST',
    },
    users: {
      doc: "HTTP users ({ username, password, token? } list). Set: every route but /healthz and /bambucam-card.js needs HTTP Basic, `Authorization: Bearer <token>` or `?token=<token>` (for places that cannot send headers: Home Assistant's image entity, the card, an <img>). A token is at least 16 characters (e.g. `openssl rand -hex 16`). Empty: no authentication.",
      format: formats.httpUsers,
      default: [] as { username: string; password: string; token?: string }[],
      sensitive: true,
    },
    cors_origins: {
      doc: 'Origins allowed to read answers from another site (the dashboard card runs on Home Assistant\'s origin), e.g. [http://homeassistant.local:8123]. null: any origin ("*") while http.users is empty, none once users are configured.',
      format: formats.corsOrigins,
      default: null as string[] | null,
    },
  },
  rtsp: {
    port: {
      doc: 'TCP port of the RTSP server (rtsp://<gateway>:<port>/<printer-id>, H.264).',
      format: 'port',
      default: 8554,
      env: 'BAMBUCAM_RTSP_PORT',
    },
    host: {
      doc: 'Address the RTSP server listens on. 0.0.0.0 for every IPv4 interface, 127.0.0.1 for this machine only.',
      format: formats.host,
      default: '0.0.0.0',
      env: 'BAMBUCAM_RTSP_HOST',
    },
    users: {
      doc: 'RTSP users ({ username, password } list; Digest or Basic). Empty: no authentication on rtsp://<gateway>:<port>/<id>.',
      format: formats.rtspUsers,
      default: [] as { username: string; password: string }[],
      sensitive: true,
    },
  },
  webrtc: {
    enabled: {
      doc: 'Serve live video over WebRTC (WHEP at /printers/<id>/whep), preferred by the web page and the card. false: off (the player falls back to LL-HLS).',
      format: Boolean,
      default: true,
      env: 'BAMBUCAM_WEBRTC_ENABLED',
    },
    port: {
      doc: 'The ONE UDP port every WebRTC viewer uses (open it in the firewall; Docker: -p 8555:8555/udp).',
      format: 'port',
      default: 8555,
      env: 'BAMBUCAM_WEBRTC_PORT',
    },
    host: {
      doc: 'Address the WebRTC UDP port is bound to. 0.0.0.0 for every IPv4 interface, :: for IPv6 too, 127.0.0.1 for this machine only.',
      format: formats.host,
      default: '0.0.0.0',
      env: 'BAMBUCAM_WEBRTC_HOST',
    },
    candidates: {
      doc: 'Addresses viewers reach the WebRTC port at, announced as ICE candidates: IPs, optionally with :port (e.g. [192.168.1.20] for Docker, [203.0.113.7:18555] behind NAT). Empty: the addresses of the interfaces webrtc.host covers. No STUN or TURN server is ever contacted.',
      format: formats.candidates,
      default: [] as string[],
    },
  },
  limits: {
    pending_per_address: {
      doc: 'Connections not yet authenticated from one address (an IPv6 /64 counts as one), per port where clients authenticate (HTTP and RTSP with users, native :6000 and :322). More are closed at once; viewers that authenticated are never counted or closed.',
      format: formats.positiveInteger,
      default: 32,
    },
    pending_total: {
      doc: 'Connections not yet authenticated from all addresses together, per output port. At the limit, a newcomer from a quieter address closes the oldest waiting connection of the address holding the most.',
      format: formats.positiveInteger,
      default: 256,
    },
    failures_before_delay: {
      doc: 'Wrong codes from one address within failure_window_s before its answers are delayed (see delays_s).',
      format: formats.positiveInteger,
      default: 5,
    },
    failure_window_s: {
      doc: 'Window in seconds in which failures_before_delay wrong codes start the delays.',
      format: formats.positiveInteger,
      default: 60,
    },
    delays_s: {
      doc: 'Delays in seconds of the next answers to an address that failed too often, one step more per further wrong code; one attempt at a time meanwhile. After a wrong code at the last step the address is refused for refuse_s.',
      format: formats.delayList,
      default: [1, 5, 30] as number[],
    },
    refuse_s: {
      doc: 'Seconds an address is refused after a wrong code at the last delay step; it is forgiven after as long again without failures.',
      format: formats.positiveInteger,
      default: 600,
    },
  },
  data_dir: {
    doc: "Directory for bambucam's own state: the CA and the TLS certificates of the native servers. Kept across restarts (a volume at /data in Docker).",
    format: formats.nonEmptyString,
    default: '.bambucam-data',
    env: 'BAMBUCAM_DATA_DIR',
  },
  idle_stop_s: {
    doc: 'Seconds within which an encoder, decoder or HLS muxer stops after its last viewer left (the HLS muxer waits half of it for a request, then the transcoder feeding it the other half, so the two never add up). Viewers who come back sooner find them running.',
    format: formats.idleSeconds,
    default: 10,
    env: 'BAMBUCAM_IDLE_STOP_S',
  },
  log: {
    level: {
      doc: 'Least severe log level printed: debug, info, warn or error.',
      format: ['debug', 'info', 'warn', 'error'],
      default: 'info',
      env: 'BAMBUCAM_LOG_LEVEL',
    },
  },
  homeassistant: {
    url: {
      doc: 'MQTT broker used by Home Assistant, e.g. mqtt://192.168.1.10:1883 (mqtts:// for TLS). null turns Home Assistant discovery off.',
      format: formats.mqttUrl,
      default: null as string | null,
      nullable: true,
      env: 'BAMBUCAM_HA_MQTT_URL',
    },
    username: {
      doc: 'User name for the Home Assistant MQTT broker (null: none).',
      format: formats.nullableString,
      default: null as string | null,
      nullable: true,
      env: 'BAMBUCAM_HA_MQTT_USERNAME',
    },
    password: {
      doc: 'Password for the Home Assistant MQTT broker (null: none). Never logged.',
      format: formats.nullableString,
      default: null as string | null,
      nullable: true,
      sensitive: true,
      env: 'BAMBUCAM_HA_MQTT_PASSWORD',
    },
    discovery_prefix: {
      doc: "Home Assistant's MQTT discovery prefix (its MQTT integration setting).",
      format: formats.topic,
      default: 'homeassistant',
    },
    base_topic: {
      doc: 'Topic under which bambucam publishes its availability and entity states (<base_topic>/status, <base_topic>/<printer-id>/...).',
      format: formats.topic,
      default: 'bambucam',
    },
    base_url: {
      doc: "How Home Assistant reaches bambucam over HTTP, e.g. http://192.168.1.20:8090 (for the camera picture and the device link). Default: http://<http.host, or this machine's name when 0.0.0.0>:<http.port>.",
      format: formats.nullableHttpUrl,
      default: null as string | null,
      nullable: true,
      env: 'BAMBUCAM_HA_BASE_URL',
    },
    image_interval_s: {
      doc: 'Seconds between refreshes of the picture shown by the Home Assistant image entity (one small URL message each, never JPEG bytes). 0: publish the URL once.',
      format: 'nat',
      default: 10,
    },
  },
  printers: {
    doc: 'The printers to serve: a list of printer entries (see the printer keys below).',
    format: formats.array,
    default: [] as unknown[],
  },
};

export const printerSchema = {
  id: {
    doc: 'Short url-safe name used in URLs (/printers/<id>/...). Default: made from name, serial or host.',
    format: formats.printerId,
    default: null as string | null,
    nullable: true,
  },
  name: {
    doc: 'Display name on the web page and in Home Assistant. Default: the id.',
    format: formats.nullableString,
    default: null as string | null,
    nullable: true,
  },
  host: {
    doc: "The printer's IP address or host name on your network.",
    format: formats.host,
    default: '',
  },
  access_code: {
    doc: "The printer's LAN access code (printer screen: Settings > Network/LAN Only). Never logged or shown.",
    format: formats.accessCode,
    default: '',
    sensitive: true,
  },
  serial: {
    doc: "The printer's serial number. Used as TLS server name, for MQTT and to tell the model.",
    format: formats.nullableString,
    default: null as string | null,
    nullable: true,
  },
  model: {
    doc: `Printer model, or auto to detect it. One of: auto, ${MODEL_NAMES.join(', ')}.`,
    format: formats.model,
    default: 'auto',
  },
  camera: {
    doc: 'Camera transport: chamber (A1/P1: JPEG over TLS :6000), rtsps (X1/H2/P2: RTSPS :322), or auto (from the model).',
    format: ['auto', 'chamber', 'rtsps'],
    default: 'auto',
  },
  mqtt: {
    doc: "Connect to the printer's MQTT server (TLS :8883, needs serial) to learn the model, firmware, LAN liveview setting and to switch the light. false: camera only.",
    format: Boolean,
    default: true,
  },
  light: {
    doc: 'Chamber light while someone watches: auto (on while viewed, restored after; needs MQTT and a printer that accepts the command) or off (never touched).',
    format: ['off', 'auto'],
    default: 'off',
  },
  viewer_code: {
    doc: "An extra code accepted from native clients (:6000, :322 and :8883 re-served) instead of the printer's access code, so the real code need not be shared. On MQTT it gives read-only access.",
    format: formats.optionalCode,
    default: null as string | null,
    nullable: true,
    sensitive: true,
  },
  rtsps_wallclock: {
    doc: "RTSPS printers: stamp pictures with the time they arrive instead of the printer's RTP timestamps (P2S firmware whose timestamps do not advance; also switched on by itself when 30 pictures in a row share a timestamp).",
    format: Boolean,
    default: false,
  },
  h264_fps: {
    doc: 'Chamber printers: frame rate of the H.264 stream made from the JPEG pictures (constant, whatever the camera sends).',
    format: formats.positiveNumber,
    default: 10,
  },
  jpeg_fps: {
    doc: 'RTSPS printers: JPEG pictures per second made from the H.264 stream for snapshot, MJPEG and native :6000 viewers.',
    format: formats.positiveNumber,
    default: 2,
  },
  native_auth: {
    doc: 'Which codes open the native servers: printer_or_viewer (the access code or viewer_code) or viewer_only (only viewer_code, so the access code stays private).',
    format: ['printer_or_viewer', 'viewer_only'],
    default: 'printer_or_viewer',
  },
  ports: {
    chamber: { doc: "The printer's chamber-image port.", format: 'port', default: 6000 },
    rtsps: { doc: "The printer's RTSPS port.", format: 'port', default: 322 },
    mqtt: { doc: "The printer's MQTT (TLS) port.", format: 'port', default: 8883 },
  },
  tls: {
    fingerprint: {
      doc: "Pin the printer's certificate by its SHA-256 fingerprint (hex, colons allowed). Default: accept the printer's certificate.",
      format: formats.fingerprint,
      default: null as string | null,
      nullable: true,
    },
    ca_file: {
      doc: "Verify the printer's certificate against this CA file (PEM; host name not checked). Default: accept the printer's certificate.",
      format: formats.nullableString,
      default: null as string | null,
      nullable: true,
    },
  },
  native: {
    chamber: {
      doc: "Re-serve the printer's chamber-image protocol (TLS): { port, host } or false to disable. Default port 6000 (the next free one from 6000 for further printers); host defaults to http.host.",
      format: formats.nativeOutput,
      default: { port: 6000 } as { port: number; host?: string } | false,
    },
    rtsps: {
      doc: "Re-serve the printer's RTSPS stream (/streaming/live/1): { port, host } or false to disable.",
      format: formats.nativeOutput,
      default: { port: 322 } as { port: number; host?: string } | false,
    },
    mqtt: {
      doc: "Re-serve the printer's MQTT (TLS) from bambucam's one connection to it: { port, host } or false to disable. Login bblp with the access code (read and write) or viewer_code (read only); needs serial and mqtt: true. Default port 8883 (the next free one from 8883 for further printers); host defaults to http.host.",
      format: formats.nativeOutput,
      default: { port: 8883 } as { port: number; host?: string } | false,
    },
  },
};
