import {
  ChamberFrameParser,
  ChamberProtocolError,
  chunkFrameBody,
  decodeAuthPacket,
  encodeAuthPacket,
  encodeFrameHeader,
  MAX_FRAME_BYTES,
} from '../../src/protocol/chamber';

const jpeg = (n: number, fill = 0x11) => {
  const b = Buffer.alloc(n, fill);
  b[0] = 0xff;
  b[1] = 0xd8;
  b[2] = 0xff;
  b[3] = 0xe0;
  b[n - 2] = 0xff;
  b[n - 1] = 0xd9;
  return b;
};

describe('chamber wire format', () => {
  test('auth packet is 80 bytes, little-endian, as PROTOCOLS.md §3', () => {
    const p = encodeAuthPacket('12345678');
    expect(p.length).toBe(80);
    expect(p.readUInt32LE(0)).toBe(0x40);
    expect(p.readUInt32LE(4)).toBe(0x3000);
    expect(p.readUInt32LE(8)).toBe(0);
    expect(p.readUInt32LE(12)).toBe(0);
    expect(p.subarray(16, 20).toString()).toBe('bblp');
    expect(p.subarray(20, 48).every((b) => b === 0)).toBe(true);
    expect(p.subarray(48, 56).toString()).toBe('12345678');
    expect(p.subarray(56).every((b) => b === 0)).toBe(true);
    expect(decodeAuthPacket(p)).toEqual({ user: 'bblp', accessCode: '12345678' });
  });

  test('auth packets with other header words are rejected', () => {
    const p = encodeAuthPacket('12345678');
    p.writeUInt32LE(0x3001, 4);
    expect(decodeAuthPacket(p)).toBeNull();
    expect(decodeAuthPacket(encodeAuthPacket('x').subarray(0, 79))).toBeNull();
  });

  test('frame header words are length, 0, 1, 0', () => {
    const h = encodeFrameHeader(123456);
    expect([0, 4, 8, 12].map((o) => h.readUInt32LE(o))).toEqual([123456, 0, 1, 0]);
  });

  test('body chunks are at most 4096 bytes and the last is never exactly 16', () => {
    for (const size of [100, 4096, 4097, 4096 + 16, 8192 + 16, 50_000]) {
      const chunks = chunkFrameBody(jpeg(size));
      expect(Buffer.concat(chunks).equals(jpeg(size))).toBe(true);
      for (const c of chunks) expect(c.length).toBeLessThanOrEqual(4096);
      expect(chunks[chunks.length - 1].length).not.toBe(16);
    }
  });

  test('the parser finds frames whatever the chunking', () => {
    const frames = [jpeg(5000, 1), jpeg(20, 2), jpeg(70_000, 3)];
    const stream = Buffer.concat(frames.flatMap((f) => [encodeFrameHeader(f.length), f]));
    for (const size of [1, 7, 16, 17, 4096, stream.length]) {
      const parser = new ChamberFrameParser();
      const out: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) out.push(...parser.push(stream.subarray(i, i + size)));
      expect(out).toEqual(frames);
      expect(parser.pendingBytes).toBe(0);
    }
  });

  test.each([
    ['length 0', Buffer.concat([encodeFrameHeader(0)])],
    ['length over 10 MB', encodeFrameHeader(MAX_FRAME_BYTES + 1)],
    ['payload that is not a JPEG', Buffer.concat([encodeFrameHeader(100), Buffer.alloc(100, 0x55)])],
    ['JPEG without end marker', Buffer.concat([encodeFrameHeader(100), jpeg(100).fill(0, 98)])],
  ])('the parser rejects %s', (_name, bytes) => {
    expect(() => new ChamberFrameParser().push(bytes)).toThrow(ChamberProtocolError);
  });
});
