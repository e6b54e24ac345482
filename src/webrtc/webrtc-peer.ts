/**
 * One WHEP viewer: a werift peer connection on the shared UDP port, fed by its own reader of the
 * printer's H.264 hub (so the hub counts it, bounds its queue and drops whole pictures for it alone
 * when it falls behind). Pictures are packetized once for all peers (rtp-payloads.ts); this peer only
 * writes its own RTP headers (sequence, timestamp; werift sets SSRC and payload type) in front of the
 * shared payloads.
 *
 * Pictures that arrive while ICE and DTLS are still connecting (the hub's cached GOP first) are held
 * and sent the moment the peer connects, their timestamps squeezed to just before the newest, so the
 * browser decodes them at once and shows the live picture instead of replaying the GOP.
 */
import { randomBytes } from 'node:crypto';
import { type RTCPeerConnection, type RTCRtpSender, RtpHeader, RtpPacket } from 'werift';
import type { Logger } from '../log';
import type { H264Picture, WebrtcPrinter } from './printer-feed';
import { rtpPayloads } from './rtp-payloads';
import type { MuxSession } from './udp-mux';

export const WEBRTC_OUTPUT = 'webrtc';
/**
 * RTP header extension telling the receiver the playout delay range (draft in WebRTC's tree,
 * http://www.webrtc.org/experiments/rtp-hdrext/playout-delay): min 0, max 0 (units of 10 ms) puts
 * Chromium's renderer in its low-latency mode — a live camera has nothing to smooth.
 */
export const PLAYOUT_DELAY_URI = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
const PLAYOUT_DELAY_ZERO = Buffer.alloc(3);
/** Pictures held for a connecting peer never exceed this (a GOP is far smaller). */
const MAX_PENDING_BYTES = 8 * 1024 * 1024;
/** RTCP payload-specific feedback (RFC 4585): PLI is FMT 1, FIR is FMT 4 (RFC 5104). */
const RTCP_PSFB = 206;
const FMT_FIR = 4;

export type PeerState = 'connecting' | 'connected' | 'closed';

export interface WebrtcPeerOptions {
  id: string;
  printer: WebrtcPrinter;
  pc: RTCPeerConnection;
  sender: RTCRtpSender;
  /** The negotiated id of the playout-delay extension, or null when the browser did not offer it. */
  playoutDelayId: () => number | null;
  log: Logger;
  /** A PLI or FIR arrived: the output asks the printer for a keyframe, rate-limited. */
  onKeyframeRequest: () => void;
  /** The peer ended (told once), with the reason. */
  onClose: (peer: WebrtcPeer, reason: string) => void;
}

export class WebrtcPeer {
  state: PeerState = 'connecting';
  readonly createdAt = Date.now();
  connectedAt: number | null = null;
  pictures = 0;
  packets = 0;
  bytes = 0;
  pli = 0;
  fir = 0;
  nacks = 0;
  closeReason: string | null = null;
  private seq = randomBytes(2).readUInt16BE(0);
  private pending: H264Picture[] = [];
  private pendingBytes = 0;
  private reader: { unsubscribe(): void } | null = null;
  private session: MuxSession | null = null;

  constructor(private readonly opts: WebrtcPeerOptions) {}

  get id(): string {
    return this.opts.id;
  }

  /** Its place on the shared UDP port, once the offer has made its ICE agent. */
  attach(session: MuxSession): void {
    this.session = session;
    if (this.state === 'closed') session.close();
  }

  /** When the peer last sent anything (RTCP, STUN consent, DTLS). */
  get lastHeardAt(): number {
    return this.session?.lastReceivedAt ?? this.createdAt;
  }

  /** Start reading the printer's pictures (subscribing starts the encoder of a chamber printer). */
  start(): void {
    const { pc, sender, printer } = this.opts;
    pc.iceConnectionStateChange.subscribe((state) =>
      this.opts.log.debug(`peer ${this.id}: ICE ${state} after ${Date.now() - this.createdAt} ms`),
    );
    pc.connectionStateChange.subscribe((state) => {
      this.opts.log.debug(`peer ${this.id}: ${state} after ${Date.now() - this.createdAt} ms`);
      if (state === 'connected') this.connected();
      else if (state === 'failed') this.close('ICE or DTLS failed');
      else if (state === 'closed') this.close('closed');
    });
    sender.onPictureLossIndication.subscribe(() => {
      this.pli++;
      this.opts.onKeyframeRequest();
    });
    sender.onGenericNack.subscribe(() => {
      this.nacks++;
    });
    sender.onRtcp.subscribe((packet) => {
      const fb = packet as unknown as { type: number; feedback?: { count?: number } };
      if (fb.type === RTCP_PSFB && fb.feedback?.count === FMT_FIR) {
        this.fir++;
        this.opts.onKeyframeRequest();
      }
    });
    this.reader = printer.h264.subscribe(
      {
        send: (unit, done) => this.take(unit, done),
        close: (reason) => this.close(`the hub closed the reader: ${reason}`),
      },
      { output: WEBRTC_OUTPUT },
    );
  }

  private take(unit: H264Picture, done: () => void): void {
    if (this.state === 'connected') {
      this.send(unit, unit.timestamp).then(done, done);
      return;
    }
    if (this.state === 'connecting') this.hold(unit);
    done();
  }

  /** Keep what a connecting peer will need: from the latest keyframe on, bounded. */
  private hold(unit: H264Picture): void {
    if (unit.key) {
      this.pending = [];
      this.pendingBytes = 0;
    } else if (this.pending.length === 0) return;
    if (this.pendingBytes + unit.bytes > MAX_PENDING_BYTES) {
      this.pending = [];
      this.pendingBytes = 0;
      return;
    }
    this.pending.push(unit);
    this.pendingBytes += unit.bytes;
  }

  private connected(): void {
    if (this.state !== 'connecting') return;
    this.state = 'connected';
    this.connectedAt = Date.now();
    this.opts.log.info(
      `peer ${this.id} connected from ${this.session?.remote ?? '?'} in ${this.connectedAt - this.createdAt} ms`,
    );
    const held = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const last = held.at(-1);
    // Squeeze the held GOP to one tick apart, ending at the newest picture's own timestamp.
    held.forEach((unit, i) => void this.send(unit, (last!.timestamp - (held.length - 1 - i)) >>> 0));
  }

  private send(unit: H264Picture, timestamp: number): Promise<unknown> {
    const { sender } = this.opts;
    const sends: Promise<void>[] = [];
    const delayId = this.opts.playoutDelayId();
    rtpPayloads(unit).forEach((p, i) => {
      const header = new RtpHeader({
        payloadType: 0, // werift writes the negotiated payload type and this sender's SSRC
        sequenceNumber: this.seq,
        timestamp,
        marker: p.marker,
        // On each picture's first packet; receivers keep the last value they saw.
        extensions: delayId !== null && i === 0 ? [{ id: delayId, payload: PLAYOUT_DELAY_ZERO }] : [],
      });
      this.seq = (this.seq + 1) & 0xffff;
      this.packets++;
      this.bytes += p.payload.length;
      sends.push(sender.sendRtp(new RtpPacket(header, p.payload)));
    });
    this.pictures++;
    return Promise.allSettled(sends);
  }

  /** End the peer: stop reading, close the connection and its place on the shared port. Idempotent. */
  close(reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeReason = reason;
    this.pending = [];
    this.reader?.unsubscribe();
    this.reader = null;
    this.session?.close();
    void this.opts.pc.close().catch(() => {});
    this.opts.onClose(this, reason);
  }

  toJSON(): Record<string, unknown> {
    return {
      id: this.id,
      state: this.state,
      remote: this.session?.remote ?? null,
      since: new Date(this.createdAt).toISOString(),
      connect_ms: this.connectedAt === null ? null : this.connectedAt - this.createdAt,
      pictures: this.pictures,
      packets: this.packets,
      bytes: this.bytes,
      pli: this.pli,
      fir: this.fir,
      nacks: this.nacks,
      last_heard_ms_ago: Date.now() - this.lastHeardAt,
    };
  }
}
