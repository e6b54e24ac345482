/**
 * The RTSPS source (X1/H2/P2 printers, :322): one RTSP session over TLS, run once.
 *
 * bambucam speaks RTSP itself rather than handing ffmpeg a URL: TLS is Node's (OpenSSL), so the
 * GnuTLS trouble of P2S printers cannot happen and the printer's certificate is checked here
 * (pinning, CA file); it is one socket that bambucam controls (keep-alives, a TEARDOWN on stop, no
 * hidden reconnects to the fragile X1 server); and video is copied — RTP is depacketized into
 * access units and re-packetized for viewers, never decoded or re-encoded.
 *
 * `run()` settles only after the socket's 'close', like every source (supervisor.ts).
 */
import type { H264Stream } from '../hub/h264-stream';
import type { Logger } from '../log';
import { authorizationFor, type Challenge, parseChallenge } from '../protocol/rtsp/auth';
import {
  parseSessionHeader,
  type RtspResponse,
  RtspStreamParser,
  serializeRequest,
} from '../protocol/rtsp/message';
import { RTSPS_PATH, RTSPS_USER } from '../protocol/rtsp/printer-path';
import { decodeRtpPacket, H264Depacketizer } from '../protocol/rtsp/rtp-h264';
import { parseSdp, resolveControl, spropParameterSets } from '../protocol/rtsp/sdp';
import { PrinterSocket } from './printer-socket';
import type { SourceStatus } from './status';
import { AuthError, LongBackoffError } from './supervisor';
import type { PrinterTlsConfig } from './tls-options';

export { RTSPS_PATH, RTSPS_USER } from '../protocol/rtsp/printer-path';

export interface RtspsSourceOptions {
  host: string;
  port: number;
  accessCode: string;
  serial: string | null;
  tls: PrinterTlsConfig;
  log: Logger;
  status: SourceStatus;
  stream: H264Stream;
  /** Stamp pictures with the arrival time instead of the printer's RTP timestamps (P2S 01.02). */
  wallclock?: boolean;
  connectTimeoutMs?: number;
  /** No picture for this long means the stream is dead. */
  frameTimeoutMs?: number;
  /** Each RTSP request must be answered within this. */
  requestTimeoutMs?: number;
}

/** Pictures in a row with one RTP timestamp before the source switches to arrival times. */
export const FROZEN_UNITS = 30;
export const LIVEVIEW_HINT =
  'turn on "LAN Only Liveview" on the printer (screen: Settings > Network/LAN Only; H2 printers have it off by default)';

export class RtspsSource {
  constructor(private readonly opts: RtspsSourceOptions) {}

  get url(): string {
    return `rtsps://${this.opts.host}:${this.opts.port}${RTSPS_PATH}`;
  }

  async run(signal: AbortSignal): Promise<void> {
    const { host, port, log, status, stream } = this.opts;
    const connectTimeoutMs = this.opts.connectTimeoutMs ?? 10_000;
    const frameTimeoutMs = this.opts.frameTimeoutMs ?? 30_000;
    const requestTimeoutMs = this.opts.requestTimeoutMs ?? 10_000;
    if (signal.aborted) return;
    const where = `${host}:${port}`;
    const startedAt = Date.now();
    const parser = new RtspStreamParser();
    const depacketizer = new H264Depacketizer();
    let cseq = 0;
    let answered = 0;
    let units = 0;
    let challenge: Challenge | null = null;
    let session: string | null = null;
    let keepAlive: NodeJS.Timeout | null = null;
    let playing = false;
    let secure = false;
    let wallclock = !!this.opts.wallclock;
    let badPackets = 0;
    let frozen = 0;
    let lastTimestamp: number | null = null;
    let lastWallTicks = 0;
    const pending = new Map<number, (res: RtspResponse) => void>();

    status.set('connecting', `connecting to ${this.url}`);
    const conn: PrinterSocket = new PrinterSocket({
      host,
      port,
      serial: this.opts.serial,
      tls: this.opts.tls,
      status,
      signal,
      // Leave politely: the X1's server keeps a dead session around otherwise.
      onAbort: (socket) => {
        if (session && !socket.destroyed) {
          send('TEARDOWN', this.url, { Session: session }).catch(() => {});
          socket.end();
          setTimeout(() => socket.destroy(), 1000).unref();
        } else socket.destroy();
      },
      classifyError: (err): Error | undefined => {
        if (err.code === 'ECONNREFUSED')
          return new LongBackoffError(
            `${where} refused the connection: LAN Only Liveview is off, or this is not an X1/H2/P2 printer; ${LIVEVIEW_HINT}`,
            'liveview_off',
          );
        if (err.code === 'ECONNRESET' && answered === 0)
          return new LongBackoffError(
            `${where} closed the connection at once: LAN Only Liveview is off, or the printer's camera connections are all taken; ${LIVEVIEW_HINT}`,
            'liveview_off',
          );
        return undefined;
      },
      pinError: (message) => new LongBackoffError(message),
    });
    const { socket } = conn;
    socket.setNoDelay(true);
    const fail = (err: Error) => conn.fail(err);
    const arm = (ms: number, message: string) => conn.arm(ms, message);
    conn.onClose(() => {
      if (keepAlive) clearInterval(keepAlive);
    });
    arm(
      connectTimeoutMs,
      `no TLS handshake from ${where} within ${connectTimeoutMs / 1000} s (printer unreachable?)`,
    );

    const send = (
      method: string,
      uri: string,
      headers: Record<string, string> = {},
    ): Promise<RtspResponse> => {
      const n = ++cseq;
      const all: Record<string, string | number> = { CSeq: n, 'User-Agent': 'bambucam', ...headers };
      if (challenge)
        all.Authorization = authorizationFor(challenge, RTSPS_USER, this.opts.accessCode, method, uri);
      socket.write(serializeRequest(method, uri, all));
      return new Promise((res, rej) => {
        const t = setTimeout(() => {
          pending.delete(n);
          rej(new Error(`${where} did not answer ${method} within ${requestTimeoutMs / 1000} s`));
        }, requestTimeoutMs);
        pending.set(n, (r) => {
          clearTimeout(t);
          res(r);
        });
      });
    };

    /** Send, answering one Digest/Basic challenge; a second 401 means a wrong access code. */
    const request = async (method: string, uri: string, headers: Record<string, string> = {}) => {
      let res = await send(method, uri, headers);
      if (res.status === 401) {
        const offered = parseChallenge(res.headers['www-authenticate'] ?? '');
        if (!offered || challenge) {
          throw new AuthError(`wrong access code: ${where} refused the RTSPS credentials (401 to ${method})`);
        }
        challenge = offered;
        res = await send(method, uri, headers);
        if (res.status === 401)
          throw new AuthError(`wrong access code: ${where} refused the RTSPS credentials (401 to ${method})`);
      }
      if (res.status !== 200) throw new Error(`${where} answered ${method} with ${res.status} ${res.reason}`);
      return res;
    };

    const onUnit = (unit: ReturnType<H264Depacketizer['push']>[number]) => {
      if (units++ === 0) {
        status.lastConnectedAt = Date.now();
        status.set('streaming');
        log.info(`streaming from ${this.url}, first picture after ${Date.now() - startedAt} ms`);
      }
      arm(frameTimeoutMs, `no picture from ${where} for ${frameTimeoutMs / 1000} s`);
      if (!wallclock) {
        // P2S firmware 01.02: RTP timestamps that never advance. Seen for a second: use arrival time.
        frozen = lastTimestamp === unit.timestamp ? frozen + 1 : 0;
        lastTimestamp = unit.timestamp;
        if (frozen >= FROZEN_UNITS) {
          wallclock = true;
          log.warn(
            `${where} sends RTP timestamps that do not advance: using arrival times (set rtsps_wallclock: true to say so)`,
          );
        }
      }
      let ts = unit.timestamp;
      if (wallclock) {
        // Arrival time in 90 kHz ticks, strictly increasing even for pictures that arrive together.
        lastWallTicks = Math.max(Math.round(Date.now() * 90), lastWallTicks + 1);
        ts = lastWallTicks % 2 ** 32;
      }
      stream.push(unit, ts);
    };

    const handshake = async () => {
      const url = this.url;
      await request('OPTIONS', url);
      const described = await request('DESCRIBE', url, { Accept: 'application/sdp' });
      const sdp = parseSdp(described.body.toString('utf8'));
      const video = sdp.media.find((m) => m.media === 'video' && /^H264$/i.test(m.codec));
      if (!video) throw new LongBackoffError(`${where} offers no H.264 video track in its SDP`);
      const [sps, pps] = spropParameterSets(video.fmtp);
      if (sps && pps) stream.setParameterSets(sps, pps);
      const base = described.headers['content-base'] ?? described.headers['content-location'] ?? `${url}/`;
      const trackUrl = resolveControl(base, video.control);
      const setup = await request('SETUP', trackUrl, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
      const parsed = parseSessionHeader(setup.headers.session ?? '');
      if (!parsed.id) throw new Error(`${where} answered SETUP without a Session`);
      session = parsed.id;
      const timeoutS = parsed.timeoutS ?? 60;
      stream.discontinuity();
      arm(frameTimeoutMs, `no picture from ${where} for ${frameTimeoutMs / 1000} s after PLAY`);
      playing = true;
      await request('PLAY', resolveControl(base, sdp.control), { Session: session, Range: 'npt=0.000-' });
      // LIVE555 ends a session after `timeout` s without a request: keep it alive at half of that.
      keepAlive = setInterval(
        () => {
          send('GET_PARAMETER', url, { Session: session ?? '' }).then(
            (r) => {
              if (r.status !== 200) log.debug(`keep-alive answered ${r.status}`);
            },
            (err: Error) => fail(err),
          );
        },
        Math.max(1000, (timeoutS * 1000) / 2),
      );
    };

    socket.once('secureConnect', () => {
      if (socket.destroyed) return; // a pinning mismatch
      secure = true;
      arm(requestTimeoutMs, `${where} did not answer within ${requestTimeoutMs / 1000} s`);
      handshake().catch((err: Error) => fail(err));
    });

    socket.on('data', (chunk: Buffer) => {
      let messages: ReturnType<RtspStreamParser['push']>;
      try {
        messages = parser.push(chunk);
      } catch (err) {
        return fail(new Error(`malformed RTSP from ${where}: ${(err as Error).message}`));
      }
      for (const m of messages) {
        if (m.kind === 'response') {
          answered++;
          const n = Number(m.headers.cseq);
          const done = pending.get(n);
          pending.delete(n);
          done?.(m);
        } else if (m.kind === 'interleaved') {
          if (m.channel !== 0 || !playing) continue; // channel 1: RTCP sender reports
          let packet: ReturnType<typeof decodeRtpPacket>;
          try {
            packet = decodeRtpPacket(m.data);
          } catch (err) {
            // One bad packet is not worth a reconnect to a fragile X1: skip it, count it.
            if (badPackets++ === 0)
              log.warn(`skipping malformed RTP from ${where}: ${(err as Error).message}`);
            continue;
          }
          for (const unit of depacketizer.push(packet)) onUnit(unit);
        }
      }
    });

    await conn.closed;
    for (const done of pending.values())
      done({ kind: 'response', status: 0, reason: 'closed', headers: {}, body: Buffer.alloc(0) });
    pending.clear();
    if (conn.aborted) return;
    if (conn.failure) throw conn.failure;
    if (answered === 0) {
      // The port took the connection and closed it before any answer (PROTOCOLS.md §4).
      throw new LongBackoffError(
        `${where} closed the ${secure ? 'RTSPS session' : 'connection'} before answering: LAN Only Liveview is off, or the printer's camera connections are all taken; ${LIVEVIEW_HINT}`,
        'liveview_off',
      );
    }
    throw new Error(`${where} closed the RTSPS session`);
  }
}
