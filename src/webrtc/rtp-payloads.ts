/**
 * Each picture is packetized once (RFC 6184 packetization-mode 1: single NAL unit packets and FU-A
 * fragments), whichever peer asks first; every other peer sends the same payload buffers under its
 * own RTP headers. Keyed weakly by the hub's picture object, so the cache lives exactly as long as
 * the hub (or a peer's queue) holds the picture.
 */
import { type H264Payload, packetizeAccessUnit } from '../protocol/rtsp/rtp-h264';
import type { H264Picture } from './printer-feed';

/**
 * RTP payload bytes per packet: 1200 keeps a packet with its RTP header, SRTP tag, UDP and IP
 * headers inside the 1280-byte IPv6 minimum MTU, the size browsers' own senders use.
 */
export const WEBRTC_MAX_PAYLOAD = 1200;

const cache = new WeakMap<H264Picture, H264Payload[]>();

export function rtpPayloads(unit: H264Picture): H264Payload[] {
  let payloads = cache.get(unit);
  if (!payloads) {
    payloads = packetizeAccessUnit(unit.nals, WEBRTC_MAX_PAYLOAD);
    cache.set(unit, payloads);
  }
  return payloads;
}
