/**
 * SDP (RFC 4566) for one H.264 video track (RFC 6184 §8.1: packetization-mode, profile-level-id,
 * sprop-parameter-sets). Pure: no I/O.
 */

export interface H264SdpOptions {
  sps: Buffer;
  pps: Buffer;
  /** Session name (s=). */
  name?: string;
  /** The track's control attribute ('track1' like LIVE555, or 'trackID=0'). */
  control?: string;
  payloadType?: number;
  /** Origin address for o= and c= lines. */
  address?: string;
  sessionId?: string;
  /** Pictures per second, when constant: `a=framerate` spares clients (ffmpeg) seconds of probing. */
  framerate?: number;
}

export function profileLevelId(sps: Buffer): string {
  return sps.subarray(1, 4).toString('hex').toUpperCase();
}

export function buildH264Sdp(opts: H264SdpOptions): string {
  const pt = opts.payloadType ?? 96;
  const address = opts.address ?? '0.0.0.0';
  const sprop = `${opts.sps.toString('base64')},${opts.pps.toString('base64')}`;
  return [
    'v=0',
    `o=- ${opts.sessionId ?? '1'} 1 IN IP4 ${address}`,
    `s=${opts.name ?? 'bambucam'}`,
    `c=IN IP4 ${address}`,
    't=0 0',
    'a=range:npt=now-',
    'a=control:*',
    `m=video 0 RTP/AVP ${pt}`,
    `a=rtpmap:${pt} H264/90000`,
    `a=fmtp:${pt} packetization-mode=1;profile-level-id=${profileLevelId(opts.sps)};sprop-parameter-sets=${sprop}`,
    ...(opts.framerate ? [`a=framerate:${Math.round(opts.framerate * 1000) / 1000}`] : []),
    `a=control:${opts.control ?? 'track1'}`,
    '',
  ].join('\r\n');
}

export interface SdpMedia {
  media: string;
  payloadType: number;
  codec: string;
  clockRate: number;
  control: string | null;
  fmtp: Record<string, string>;
}

export interface SdpSession {
  control: string | null;
  media: SdpMedia[];
}

export function parseSdp(text: string): SdpSession {
  const session: SdpSession = { control: null, media: [] };
  let current: SdpMedia | null = null;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      const [media, , , pt] = line.slice(2).split(/\s+/);
      current = { media, payloadType: Number(pt), codec: '', clockRate: 0, control: null, fmtp: {} };
      session.media.push(current);
    } else if (line.startsWith('a=control:')) {
      const v = line.slice('a=control:'.length).trim();
      if (current) current.control = v;
      else session.control = v;
    } else if (line.startsWith('a=rtpmap:') && current) {
      const m = /^a=rtpmap:(\d+)\s+([^/]+)\/(\d+)/.exec(line);
      if (m && Number(m[1]) === current.payloadType) {
        current.codec = m[2];
        current.clockRate = Number(m[3]);
      }
    } else if (line.startsWith('a=fmtp:') && current) {
      const params = line.replace(/^a=fmtp:\d+\s*/, '');
      for (const p of params.split(';')) {
        const eq = p.indexOf('=');
        if (eq > 0) current.fmtp[p.slice(0, eq).trim().toLowerCase()] = p.slice(eq + 1).trim();
      }
    }
  }
  return session;
}

/** SPS and PPS from `sprop-parameter-sets`. */
export function spropParameterSets(fmtp: Record<string, string>): Buffer[] {
  const v = fmtp['sprop-parameter-sets'];
  if (!v) return [];
  return v
    .split(',')
    .map((s) => Buffer.from(s, 'base64'))
    .filter((b) => b.length > 0);
}

/** Resolve a track's control attribute against the session's base URL (RFC 2326 C.1.1). */
export function resolveControl(base: string, control: string | null): string {
  if (!control || control === '*') return base;
  if (/^rtsps?:\/\//i.test(control)) return control;
  return base.endsWith('/') ? base + control : `${base}/${control}`;
}
