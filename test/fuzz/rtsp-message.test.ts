/**
 * RTSP requests/responses and interleaved frames on one stream (src/protocol/rtsp/message.ts).
 * Contract: the parser returns whole messages or throws RtspParseError (the connection is closed);
 * it holds at most a header block and a body, or one interleaved frame; chunking never changes the
 * result. Serialized headers never carry CR, LF or NUL from a value.
 */
import fc from 'fast-check';
import {
  interleavedHeader,
  MAX_BODY_BYTES,
  MAX_HEADER_BYTES,
  parseSessionHeader,
  parseTransports,
  type RtspMessage,
  RtspParseError,
  RtspStreamParser,
  serializeRequest,
  serializeResponse,
} from '../../src/protocol/rtsp/message';
import { bytes, cuts, cutTo, edits, everyBoundary, mutate, RUNS, splitAt } from './chunks';

const BOUND = Math.max(MAX_HEADER_BYTES + 4 + MAX_BODY_BYTES, 4 + 0xffff);

const token = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,15}$/);
/** A header value as the parser gives it back: visible characters, no spaces at either end. */
const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,40}[\x21-\x7e])?$/);
const headers = fc
  .uniqueArray(fc.tuple(token, value), { maxLength: 6, selector: ([k]) => k.toLowerCase() })
  .map((pairs) => pairs.filter(([k]) => k.toLowerCase() !== 'content-length'));
const body = fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 }), { nil: undefined });

type Item = { bytes: Buffer; expected: RtspMessage };
const request: fc.Arbitrary<Item> = fc
  .tuple(
    fc.constantFrom('OPTIONS', 'DESCRIBE', 'SETUP', 'PLAY', 'TEARDOWN', 'GET_PARAMETER'),
    fc.stringMatching(/^rtsp:\/\/[a-z0-9.]{1,20}(:\d{1,5})?\/[\x21-\x7e]{0,30}$/),
    headers,
    body,
  )
  .map(([method, uri, h, b]) => {
    const buf = b ? Buffer.from(b) : Buffer.alloc(0);
    const expectedHeaders = Object.fromEntries(h.map(([k, v]) => [k.toLowerCase(), v]));
    if (buf.length) expectedHeaders['content-length'] = String(buf.length);
    return {
      bytes: serializeRequest(method, uri, Object.fromEntries(h), b ? buf : undefined),
      expected: { kind: 'request', method, uri, headers: expectedHeaders, body: buf },
    };
  });
const response: fc.Arbitrary<Item> = fc
  .tuple(fc.constantFrom(200, 401, 404, 454, 461, 503), headers, body)
  .map(([status, h, b]) => {
    const buf = b ? Buffer.from(b) : Buffer.alloc(0);
    const bytesOut = serializeResponse(status, Object.fromEntries(h), b ? buf : undefined);
    const expectedHeaders = Object.fromEntries(h.map(([k, v]) => [k.toLowerCase(), v]));
    if (buf.length) expectedHeaders['content-length'] = String(buf.length);
    const reason = bytesOut.toString('latin1').split('\r\n')[0].split(' ').slice(2).join(' ');
    return {
      bytes: bytesOut,
      expected: { kind: 'response', status, reason, headers: expectedHeaders, body: buf },
    };
  });
const interleaved: fc.Arbitrary<Item> = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 1500 }))
  .map(([channel, data]) => ({
    bytes: Buffer.concat([interleavedHeader(channel, data.length), Buffer.from(data)]),
    expected: { kind: 'interleaved', channel, data: Buffer.from(data) },
  }));
const items = fc.array(fc.oneof(request, response, interleaved), { minLength: 1, maxLength: 8 });

/** Messages as plain values (Buffers compared by content). */
const plain = (msgs: RtspMessage[]) =>
  msgs.map((m) =>
    m.kind === 'interleaved'
      ? { ...m, data: [...m.data] }
      : { ...m, headers: { ...m.headers }, body: [...m.body] },
  );

function parseAll(chunks: Buffer[]): RtspMessage[] {
  const p = new RtspStreamParser();
  return chunks.flatMap((c) => p.push(c));
}

describe('RTSP stream parser', () => {
  test('arbitrary bytes in arbitrary chunks: messages or RtspParseError, bounded buffering', () => {
    fc.assert(
      fc.property(bytes(4096), cuts, (data, at) => {
        const p = new RtspStreamParser();
        try {
          for (const c of splitAt(data, at)) {
            p.push(c);
            expect(p.pendingBytes).toBeLessThanOrEqual(BOUND);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(RtspParseError);
        }
      }),
      RUNS,
    );
  });

  test('damaged valid streams: messages or RtspParseError, bounded buffering', () => {
    fc.assert(
      fc.property(items, edits, cutTo, cuts, (list, e, end, at) => {
        const p = new RtspStreamParser();
        try {
          for (const c of splitAt(mutate(Buffer.concat(list.map((i) => i.bytes)), e, end), at)) {
            p.push(c);
            expect(p.pendingBytes).toBeLessThanOrEqual(BOUND);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(RtspParseError);
        }
      }),
      RUNS,
    );
  });

  test('valid requests, responses and interleaved frames in arbitrary chunks parse to what was sent', () => {
    fc.assert(
      fc.property(items, cuts, (list, at) => {
        const data = Buffer.concat(list.map((i) => i.bytes));
        expect(plain(parseAll(splitAt(data, at)))).toEqual(plain(list.map((i) => i.expected)));
      }),
      RUNS,
    );
  });

  test('a pipelined conversation split at every byte boundary parses the same', () => {
    const data = Buffer.concat([
      serializeRequest('OPTIONS', 'rtsp://h/x', { CSeq: 1 }),
      interleavedHeader(1, 3),
      Buffer.from([7, 8, 9]),
      serializeResponse(200, { CSeq: 2, 'Content-Type': 'application/sdp' }, Buffer.from('v=0\r\n')),
    ]);
    const whole = plain(parseAll([data]));
    expect(whole).toHaveLength(3);
    for (const [a, b] of everyBoundary(data)) expect(plain(parseAll([a, b]))).toEqual(whole);
  });

  test('an endless header block or body is refused before it is held', () => {
    const p = new RtspStreamParser();
    expect(() => {
      for (let i = 0; i < 100; i++) p.push(Buffer.alloc(1024, 0x41));
    }).toThrow(RtspParseError);
    expect(() =>
      new RtspStreamParser().push(
        Buffer.from(`PLAY * RTSP/1.0\r\nContent-Length: ${MAX_BODY_BYTES + 1}\r\n\r\n`),
      ),
    ).toThrow(RtspParseError);
  });
});

const transportText = fc
  .array(
    fc.tuple(
      fc.constantFrom('RTP/AVP/TCP', 'RTP/AVP', 'RTP/AVP/UDP'),
      fc.array(
        fc.oneof(
          fc.constant('unicast'),
          fc.nat(70000).map((n) => `interleaved=${n}`),
          fc.tuple(fc.nat(300), fc.nat(300)).map(([a, b]) => `interleaved=${a}-${b}`),
        ),
      ),
    ),
    { maxLength: 3 },
  )
  .map((list) => list.map(([proto, params]) => [proto, ...params].join(';')).join(','));

describe('RTSP header helpers', () => {
  test('serialized values never carry CR, LF or NUL, whatever they are given', () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ maxLength: 12 }), fc.string({ maxLength: 40 }), { maxKeys: 6 }),
        (h) => {
          const text = serializeResponse(200, h).toString('latin1');
          expect(text.endsWith('\r\n\r\n')).toBe(true);
          const lines = text.slice(0, -4).split('\r\n');
          for (const line of lines) expect(line).not.toMatch(/[\r\n\0]/);
          expect(lines.length).toBeLessThanOrEqual(1 + Object.keys(h).length);
        },
      ),
      RUNS,
    );
  });

  test('interleaved channels outside one byte are not taken', () => {
    expect(parseTransports('RTP/AVP/TCP;interleaved=255-256')[0].interleaved).toBeNull();
    expect(parseTransports('RTP/AVP/TCP;interleaved=99999999999')[0].interleaved).toBeNull();
    expect(parseTransports('RTP/AVP/TCP;interleaved=254')[0].interleaved).toEqual([254, 255]);
  });

  test('Transport and Session parsers take any text without throwing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), transportText), (text) => {
        for (const t of parseTransports(text)) {
          // Channels are one byte on the wire: no pair outside 0..255 is ever offered to the server.
          if (t.interleaved)
            for (const ch of t.interleaved) expect(Number.isInteger(ch) && ch >= 0 && ch <= 255).toBe(true);
        }
        const s = parseSessionHeader(text);
        expect(typeof s.id).toBe('string');
      }),
      RUNS,
    );
  });
});
