/**
 * The SDP side of WHEP for one H.264 video track, before and after werift sees it. Pure: no I/O.
 *
 * werift answers with every H.264 payload type of the offer and sends with the first, whatever its
 * packetization mode or profile. So the offer's first video section is trimmed to the one payload
 * type that suits the stream (packetization-mode=1, a profile whose decoder plays the stream's), and
 * the answer's fmtp then names the stream's own profile-level-id. The offer's candidates are removed:
 * bambucam is an ICE-lite agent that never checks them (it learns the browser's address from the
 * browser's own checks), so no name is resolved and nothing is sent to them.
 */
import { acceptableProfiles, type H264Profile, h264Profile } from './h264-profile';

export class OfferError extends Error {
  override name = 'OfferError';
}

/** Offers are a few kilobytes; anything this big is not one. */
export const MAX_OFFER_BYTES = 64 * 1024;

interface Section {
  lines: string[];
}

function split(sdp: string): { session: string[]; media: Section[] } {
  const lines = sdp.split(/\r?\n/).filter((l) => l.length > 0);
  const session: string[] = [];
  const media: Section[] = [];
  for (const line of lines) {
    if (line.startsWith('m=')) media.push({ lines: [line] });
    else if (media.length) media[media.length - 1].lines.push(line);
    else session.push(line);
  }
  return { session, media };
}

function join(session: string[], media: Section[]): string {
  return `${[...session, ...media.flatMap((m) => m.lines)].join('\r\n')}\r\n`;
}

/** `a=<name>:<pt> <rest>` lines of a section, by payload type. */
function byPayloadType(section: Section, name: string): Map<number, string> {
  const out = new Map<number, string>();
  const re = new RegExp(`^a=${name}:(\\d+) (.*)$`);
  for (const line of section.lines) {
    const m = re.exec(line);
    if (m) out.set(Number(m[1]), m[2]);
  }
  return out;
}

function fmtpParams(fmtp: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (fmtp ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  return out;
}

export interface PreparedOffer {
  /** The offer as werift should see it. */
  sdp: string;
  /** The H.264 payload type chosen in the first video section. */
  payloadType: number;
  /** The offer's profile-level-id for that payload type. */
  offeredProfileLevelId: string;
}

const PAYLOAD_ATTRIBUTES = /^a=(rtpmap|fmtp|rtcp-fb):(\d+)[ :]/;
/** The feedback bambucam acts on: NACK (werift retransmits), PLI and FIR (a keyframe request). */
const SUPPORTED_FEEDBACK = new Set(['nack', 'nack pli', 'ccm fir']);

/**
 * Check a WHEP offer and trim its first video section to the best H.264 payload type for a stream
 * of profile-level-id `streamProfileLevelId`. Throws OfferError with a sentence for the client.
 */
export function prepareOffer(offer: string, streamProfileLevelId: string): PreparedOffer {
  if (!/^v=0\r?\n/.test(offer)) throw new OfferError('the body is not an SDP offer (it must start with v=0)');
  const { session, media } = split(offer);
  const video = media.find((m) => m.lines[0].startsWith('m=video '));
  if (!video) throw new OfferError('the offer has no video section (m=video)');
  const all = [...session, ...video.lines];
  if (!all.some((l) => l.startsWith('a=ice-ufrag:')) || !all.some((l) => l.startsWith('a=fingerprint:')))
    throw new OfferError('the offer is not a WebRTC offer (no a=ice-ufrag or a=fingerprint)');
  if (video.lines.some((l) => l === 'a=sendonly' || l === 'a=inactive'))
    throw new OfferError('the video section must receive (a=recvonly or a=sendrecv): WHEP only sends video');
  const rtpmap = byPayloadType(video, 'rtpmap');
  const fmtp = byPayloadType(video, 'fmtp');
  const wanted = acceptableProfiles(h264Profile(streamProfileLevelId));
  let best: { pt: number; rank: number; plid: string } | null = null;
  for (const [pt, codec] of rtpmap) {
    if (!/^H264\/90000$/i.test(codec.trim())) continue;
    const params = fmtpParams(fmtp.get(pt));
    if (params.get('packetization-mode') !== '1') continue;
    // RFC 6184 §8.1: no profile-level-id means 42000A (Baseline, level 1).
    const plid = (params.get('profile-level-id') ?? '42000a').toLowerCase();
    const rank = wanted.indexOf(h264Profile(plid) as H264Profile);
    if (rank >= 0 && (!best || rank < best.rank)) best = { pt, rank, plid };
  }
  if (!best)
    throw new OfferError(
      `the offer has no H.264 video with packetization-mode=1 for a ${h264Profile(streamProfileLevelId)} stream (profile-level-id ${streamProfileLevelId})`,
    );
  const chosen = best.pt;
  const mLine = video.lines[0].split(' ');
  video.lines = [
    [...mLine.slice(0, 3), String(chosen)].join(' '),
    ...video.lines.slice(1).filter((line) => {
      const m = PAYLOAD_ATTRIBUTES.exec(line);
      if (!m) return true;
      if (Number(m[2]) !== chosen) return false;
      return m[1] !== 'rtcp-fb' || SUPPORTED_FEEDBACK.has(line.slice(line.indexOf(' ') + 1));
    }),
  ];
  for (const section of media) section.lines = section.lines.filter((l) => !l.startsWith('a=candidate:'));
  return { sdp: join(session, media), payloadType: chosen, offeredProfileLevelId: best.plid };
}

/**
 * The answer as sent to the client: the chosen payload type's fmtp names the stream's own
 * profile-level-id when the offer's is of the same profile (else the offer's, which the stream also
 * plays on), with packetization-mode=1.
 */
export function finishAnswer(answer: string, prepared: PreparedOffer, streamProfileLevelId: string): string {
  const sameProfile = h264Profile(prepared.offeredProfileLevelId) === h264Profile(streamProfileLevelId);
  const plid = sameProfile ? streamProfileLevelId.toLowerCase() : prepared.offeredProfileLevelId;
  const fmtp = `a=fmtp:${prepared.payloadType} level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${plid}`;
  const { session, media } = split(answer);
  // ICE lite is a session-level attribute (RFC 8839 §5.3); werift writes it into the media section.
  if (media.some((m) => m.lines.includes('a=ice-lite'))) {
    for (const m of media) m.lines = m.lines.filter((l) => l !== 'a=ice-lite');
    if (!session.includes('a=ice-lite')) session.push('a=ice-lite');
  }
  const video = media.find((m) => m.lines[0].startsWith('m=video '));
  if (video) {
    const at = video.lines.findIndex((l) => l.startsWith(`a=fmtp:${prepared.payloadType} `));
    if (at >= 0) video.lines[at] = fmtp;
    else {
      const rtpmap = video.lines.findIndex((l) => l.startsWith(`a=rtpmap:${prepared.payloadType} `));
      video.lines.splice(rtpmap >= 0 ? rtpmap + 1 : video.lines.length, 0, fmtp);
    }
  }
  return join(session, media);
}

/** host:port of every candidate in an SDP (for tests and the status). */
export function candidateAddresses(sdp: string): { host: string; port: number; transport: string }[] {
  return [...sdp.matchAll(/^a=candidate:\S+ \d+ (\S+) \d+ (\S+) (\d+) typ/gm)].map((m) => ({
    transport: m[1].toLowerCase(),
    host: m[2],
    port: Number(m[3]),
  }));
}
