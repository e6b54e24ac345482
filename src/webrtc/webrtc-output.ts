/**
 * The WebRTC output: WHEP sessions (RFC 9725 mechanics, draft-ietf-wish-whep) for every printer,
 * media on ONE shared UDP port. Each session is a WebrtcPeer reading the printer's H.264 hub; no
 * peer ever costs an encoder, an upstream connection or a re-encode. The HTTP side is whep-routes.ts.
 */
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { RTCPeerConnection, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters } from 'werift';
import type { Logger } from '../log';
import { describeListenError } from '../net/listen';
import type { Output, OutputFactory, OutputState } from '../output/output';
import type { PrinterMedia } from '../output/printer-media';
import { announcedAddresses } from './announce';
import { profileLevelIdOfSps } from './h264-profile';
import type { WebrtcPrinter } from './printer-feed';
import { UdpMux } from './udp-mux';
import { PLAYOUT_DELAY_URI, WEBRTC_OUTPUT, WebrtcPeer } from './webrtc-peer';
import { type AnnouncedAddress, attachToMux } from './werift-ice';
import { whepRouter } from './whep-routes';
import { finishAnswer, OfferError, prepareOffer } from './whep-sdp';

export interface WebrtcConfig {
  enabled: boolean;
  /** UDP port shared by every peer. */
  port: number;
  host: string;
  /** Addresses announced as ICE candidates (`ip` or `ip:port`); empty: the interfaces' addresses. */
  candidates: string[];
}

export interface WebrtcTuning {
  /** A peer that has not connected (ICE + DTLS) this long after its offer is closed. */
  connectTimeoutMs?: number;
  /** A connected peer the gateway has heard nothing from (RTCP, STUN consent) this long is closed as stalled. */
  peerTimeoutMs?: number;
  /** How long an offer waits for the printer's first H.264 parameter sets (an encoder starting, a printer connecting). */
  parametersWaitMs?: number;
  /** At most one keyframe request per printer this often, however many peers send PLI/FIR. */
  keyframeIntervalMs?: number;
  /** Peers at once over all printers; more get 503. */
  maxPeers?: number;
}

export const CONNECT_TIMEOUT_MS = 20_000;
/** Browsers send RTCP about every second and STUN consent checks every ~5 s (RFC 7675). */
export const PEER_TIMEOUT_MS = 15_000;
export const PARAMETERS_WAIT_MS = 10_000;
export const KEYFRAME_INTERVAL_MS = 2_000;
export const MAX_PEERS = 100;

/** An HTTP answer for a WHEP request that cannot be served. */
export class WhepError extends Error {
  override name = 'WhepError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

interface PrinterCounters {
  sessionsOpened: number;
  sessionsFailed: number;
  stalled: number;
  keyframeRequests: number;
  lastKeyframeRequestAt: number;
}

export interface WebrtcOutputOptions {
  config: WebrtcConfig;
  printers: ReadonlyMap<string, WebrtcPrinter>;
  log: Logger;
  tuning?: WebrtcTuning;
}

export interface WhepSession {
  id: string;
  printerId: string;
  peer: WebrtcPeer;
  /** The offer's ICE ufrag, to tell a trickle PATCH from an ICE restart. */
  remoteUfrag: string | null;
}

export class WebrtcOutput implements Output {
  readonly name = WEBRTC_OUTPUT;
  private mux: UdpMux | null = null;
  private failure: string | null = null;
  private announced: AnnouncedAddress[] = [];
  private readonly sessions = new Map<string, WhepSession>();
  private readonly counters = new Map<string, PrinterCounters>();
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Logger;

  constructor(private readonly opts: WebrtcOutputOptions) {
    this.log = opts.log;
  }

  private get tuning(): Required<WebrtcTuning> {
    const t = this.opts.tuning ?? {};
    return {
      connectTimeoutMs: t.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
      peerTimeoutMs: t.peerTimeoutMs ?? PEER_TIMEOUT_MS,
      parametersWaitMs: t.parametersWaitMs ?? PARAMETERS_WAIT_MS,
      keyframeIntervalMs: t.keyframeIntervalMs ?? KEYFRAME_INTERVAL_MS,
      maxPeers: t.maxPeers ?? MAX_PEERS,
    };
  }

  async start(): Promise<void> {
    const { config } = this.opts;
    if (!config.enabled) return;
    const mux = new UdpMux({ host: config.host, port: config.port, log: this.log });
    try {
      await mux.start();
    } catch (err) {
      const hint = describeListenError(err as NodeJS.ErrnoException, config.port, {
        port: 'webrtc.port',
        host: 'webrtc.host',
      });
      this.failure = `cannot listen on udp ${config.host}:${config.port}: ${hint}`;
      this.log.error(`${this.failure} — WebRTC is disabled, everything else runs`);
      return;
    }
    this.mux = mux;
    this.announced = announcedAddresses(config.host, mux.port, config.candidates, networkInterfaces());
    this.timer = setInterval(() => this.checkPeers(), 1000);
    this.timer.unref();
    this.log.info(
      `WHEP at /printers/<id>/whep, media on udp ${config.host}:${mux.port}, announced as ${this.announcedText()}`,
    );
  }

  private announcedText(): string {
    return this.announced
      .map((a) => (a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`))
      .join(', ');
  }

  /** The bound UDP port (0 when not listening). */
  get port(): number {
    return this.mux?.port ?? 0;
  }

  /** The printer the short URLs (/whep) stand for, or null. */
  get firstPrinterId(): string | null {
    return this.opts.printers.keys().next().value ?? null;
  }

  get peerCount(): number {
    return this.sessions.size;
  }

  private countersOf(printerId: string): PrinterCounters {
    let c = this.counters.get(printerId);
    if (!c) {
      c = { sessionsOpened: 0, sessionsFailed: 0, stalled: 0, keyframeRequests: 0, lastKeyframeRequestAt: 0 };
      this.counters.set(printerId, c);
    }
    return c;
  }

  /** Why offers are refused right now, or null. */
  private unavailable(): string | null {
    if (!this.opts.config.enabled) return 'WebRTC is turned off (webrtc.enabled: false)';
    if (!this.mux) return this.failure ?? 'WebRTC is not started';
    return null;
  }

  /** POST /printers/:id/whep: make a peer for `offer`; resolves to its session and the SDP answer. */
  async createSession(printerId: string, offer: string): Promise<{ session: WhepSession; answer: string }> {
    const printer = this.opts.printers.get(printerId);
    if (!printer)
      throw new WhepError(
        404,
        'unknown_printer',
        `no printer with id "${printerId}"; known: ${[...this.opts.printers.keys()].join(', ') || 'none'}`,
      );
    const why = this.unavailable();
    if (why) throw new WhepError(503, 'webrtc_unavailable', why);
    const mux = this.mux!;
    // Reject what is not an offer before anything starts (the stream's real profile comes later).
    try {
      prepareOffer(offer, '42e01f');
    } catch (err) {
      if (err instanceof OfferError) throw new WhepError(400, 'bad_offer', err.message);
      throw err;
    }
    const noH264 = printer.h264Unavailable();
    if (noH264) throw new WhepError(503, 'no_video', noH264, 30);
    if (this.sessions.size >= this.tuning.maxPeers)
      throw new WhepError(
        503,
        'too_many_peers',
        `already ${this.sessions.size} WebRTC peers; try again later`,
        10,
      );

    const counters = this.countersOf(printerId);
    const id = randomBytes(16).toString('hex');
    const pc = new RTCPeerConnection({
      iceServers: [], // no STUN or TURN server is ever contacted
      iceLite: true,
      iceUseIpv4: false, // no interface enumeration: attachToMux supplies the candidates
      iceUseIpv6: false,
      iceUseTcp: false,
      bundlePolicy: 'max-bundle',
      codecs: {
        video: [
          new RTCRtpCodecParameters({
            mimeType: 'video/H264',
            clockRate: 90000,
            rtcpFeedback: [
              { type: 'nack' },
              { type: 'nack', parameter: 'pli' },
              { type: 'ccm', parameter: 'fir' },
            ],
            parameters: 'packetization-mode=1',
          }),
        ],
        // Offers that also ask for audio get an answer without any (no track is ever added).
        audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2 })],
      },
      // The only extension: playout delay 0, so browsers show each picture as soon as it is decoded.
      headerExtensions: {
        video: [new RTCRtpHeaderExtensionParameters({ id: 0, uri: PLAYOUT_DELAY_URI })],
        audio: [],
      },
    });
    const transceiver = pc.addTransceiver('video', { direction: 'sendonly' });
    const peerLog = this.log.child(printerId);
    let session: WhepSession | null = null;
    const peer = new WebrtcPeer({
      id,
      printer,
      pc,
      sender: transceiver.sender,
      playoutDelayId: () => transceiver.headerExtensions.find((e) => e.uri === PLAYOUT_DELAY_URI)?.id ?? null,
      log: peerLog,
      onKeyframeRequest: () => this.keyframeRequest(printer, counters),
      onClose: (p, reason) => {
        this.sessions.delete(p.id);
        if (p.connectedAt === null) counters.sessionsFailed++;
        peerLog.info(`peer ${p.id} closed: ${reason}`);
      },
    });
    try {
      // Reading first: for a chamber printer this starts the encoder while we wait for its SPS.
      peer.start();
      if (!(await printer.h264.waitForParameters(this.tuning.parametersWaitMs)) || !printer.h264.sps)
        throw new WhepError(
          503,
          'no_video_yet',
          `no H.264 from printer "${printerId}" within ${Math.round(this.tuning.parametersWaitMs / 1000)} s (is it streaming? see /api/printers/${printerId})`,
          5,
        );
      const plid = profileLevelIdOfSps(printer.h264.sps);
      let prepared: ReturnType<typeof prepareOffer>;
      try {
        prepared = prepareOffer(offer, plid);
      } catch (err) {
        if (err instanceof OfferError) throw new WhepError(406, 'no_matching_codec', err.message);
        throw err;
      }
      try {
        await pc.setRemoteDescription({ type: 'offer', sdp: prepared.sdp });
      } catch (err) {
        throw new WhepError(400, 'bad_offer', `the offer was refused: ${(err as Error).message}`);
      }
      peer.attach(attachToMux(pc, mux, this.announced));
      await pc.setLocalDescription(await pc.createAnswer());
      const local = pc.localDescription?.sdp;
      if (!local) throw new Error('werift made no answer');
      if (peer.state === 'closed')
        throw new WhepError(503, 'closed', `the session ended: ${peer.closeReason}`);
      session = { id, printerId, peer, remoteUfrag: /^a=ice-ufrag:(\S+)/m.exec(offer)?.[1] ?? null };
      this.sessions.set(id, session);
      counters.sessionsOpened++;
      return { session, answer: finishAnswer(local, prepared, plid) };
    } catch (err) {
      peer.close(`offer failed: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Rate-limited per printer: one request per keyframeIntervalMs whatever the number of peers asking. */
  private keyframeRequest(printer: WebrtcPrinter, counters: PrinterCounters): void {
    const now = Date.now();
    if (now - counters.lastKeyframeRequestAt < this.tuning.keyframeIntervalMs) return;
    counters.lastKeyframeRequestAt = now;
    counters.keyframeRequests++;
    printer.requestKeyframe();
  }

  session(printerId: string, id: string): WhepSession | undefined {
    const s = this.sessions.get(id);
    return s && s.printerId === printerId ? s : undefined;
  }

  /** DELETE: end a session. False when there is none. */
  endSession(printerId: string, id: string): boolean {
    const s = this.session(printerId, id);
    if (!s) return false;
    s.peer.close('ended by the client (DELETE)');
    return true;
  }

  /** Close peers that never connected, and connected peers gone silent (stalled). */
  private checkPeers(): void {
    const now = Date.now();
    const { connectTimeoutMs, peerTimeoutMs } = this.tuning;
    for (const { peer, printerId } of [...this.sessions.values()]) {
      if (peer.state === 'connecting' && now - peer.createdAt > connectTimeoutMs) {
        peer.close(
          `did not connect within ${Math.round(connectTimeoutMs / 1000)} s (is UDP ${this.announcedText()} reachable from the viewer?)`,
        );
      } else if (peer.state === 'connected' && now - peer.lastHeardAt > peerTimeoutMs) {
        this.countersOf(printerId).stalled++;
        peer.close(`stalled: nothing heard from the peer for ${Math.round(peerTimeoutMs / 1000)} s`);
      }
    }
  }

  status(printerId: string): OutputState | undefined {
    if (!this.opts.printers.has(printerId)) return undefined;
    const c = this.countersOf(printerId);
    const peers = [...this.sessions.values()].filter((s) => s.printerId === printerId).map((s) => s.peer);
    const base = {
      peers: peers.length,
      connected: peers.filter((p) => p.state === 'connected').length,
      sessions_opened: c.sessionsOpened,
      sessions_failed: c.sessionsFailed,
      stalled_peers: c.stalled,
      keyframe_requests: c.keyframeRequests,
      sessions: peers.map((p) => p.toJSON()),
    };
    if (!this.opts.config.enabled) return { state: 'disabled', reason: 'webrtc.enabled is false' };
    const urls = { whep: `/printers/${printerId}/whep` };
    if (!this.mux) return { state: 'failed', reason: this.failure ?? 'not started', ...base };
    return {
      state: 'listening',
      listen: `udp://${this.opts.config.host}:${this.mux.port}`,
      candidates: this.announced.map((a) => `${a.host}:${a.port}`),
      ...base,
      urls,
    };
  }

  describe(): string[] {
    if (!this.mux) return [];
    return [
      `WebRTC (WHEP): POST /printers/<id>/whep; media on udp ${this.opts.config.host}:${this.mux.port}, announced as ${this.announcedText()}`,
    ];
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const { peer } of [...this.sessions.values()]) peer.close('shutting down');
    this.sessions.clear();
    await this.mux?.stop();
    this.mux = null;
  }
}

/** What the WebRTC output needs of a PrinterMedia. */
export function webrtcPrinter(media: PrinterMedia): WebrtcPrinter {
  return {
    id: media.id,
    h264: media.h264,
    h264Unavailable: () => media.facts().h264Unavailable,
    requestKeyframe: () => media.requestKeyframe(),
  };
}

export const webrtcOutput: OutputFactory = (ctx) => {
  const output = new WebrtcOutput({
    config: ctx.config.webrtc,
    printers: new Map([...ctx.printers].map(([id, media]) => [id, webrtcPrinter(media)])),
    log: ctx.log.child('webrtc'),
    tuning: ctx.tuning.webrtc,
  });
  // Also when turned off: offers then get a 503 that says so, and players fall back at once.
  ctx.http.use(whepRouter(output));
  return output;
};
