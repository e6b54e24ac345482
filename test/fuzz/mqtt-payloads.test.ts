/**
 * The printer's MQTT payloads (src/protocol/mqtt-payloads.ts). Contract: parseMessage turns any
 * bytes into a plain object or null; the readers take any JSON without throwing and answer typed
 * values or null; mergeState merges key by key into plain data — keys such as "__proto__" are data,
 * never a way to change an object's prototype.
 */
import fc from 'fast-check';
import {
  ipFromLittleEndianU32,
  ipToLittleEndianU32,
  mergeState,
  parseMessage,
  readChamberLight,
  readIp,
  readIpcam,
  readSystemResult,
  readVersion,
} from '../../src/protocol/mqtt-payloads';
import { bytes, RUNS } from './chunks';

type Json = Record<string, unknown>;

/** JSON objects shaped like reports, with the keys the readers look at and the ones that bite. */
const key = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom(
    'print',
    'ipcam',
    'rtsp_url',
    'ipcam_dev',
    'net',
    'info',
    'ip',
    'lights_report',
    'node',
    'mode',
  ),
  fc.constantFrom('module', 'name', 'ota', 'sw_ver', 'product_name', 'system', 'command', 'result', 'reason'),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'),
);
const { tree } = fc.letrec((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }),
    fc.array(tie('tree'), { maxLength: 4 }),
    fc.dictionary(key, tie('tree'), { maxKeys: 5 }),
  ),
}));
const objectText = fc.dictionary(key, tree, { maxKeys: 6 }).map((o) => JSON.stringify(o));

/** The reference merge: plain own properties only. */
function reference(state: unknown, delta: Json): Json {
  const out: Json = Object.create(null);
  const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(state)) for (const k of Object.keys(state)) out[k] = state[k];
  for (const k of Object.keys(delta))
    out[k] = isObj(delta[k]) && isObj(out[k]) ? reference(out[k], delta[k] as Json) : delta[k];
  return out;
}
const plain = (v: unknown) => JSON.parse(JSON.stringify(v));

describe('MQTT payloads', () => {
  test('any bytes: a plain object or null', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          bytes(300),
          objectText.map((t) => Buffer.from(t)),
        ),
        (data) => {
          const m = parseMessage(data);
          if (m !== null) expect(typeof m === 'object' && !Array.isArray(m)).toBe(true);
        },
      ),
      RUNS,
    );
  });

  test('the readers take any report without throwing', () => {
    fc.assert(
      fc.property(objectText, (text) => {
        const m = parseMessage(text);
        if (!m) return;
        readVersion(m);
        readSystemResult(m);
        const print = (m.print ?? m) as Json;
        if (typeof print !== 'object' || print === null) return;
        const ipcam = readIpcam(print);
        if (ipcam) expect(['on', 'off', null]).toContain(ipcam.liveview);
        const ip = readIp(print);
        if (ip) expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
        const light = readChamberLight(print);
        expect(light === null || typeof light === 'string').toBe(true);
      }),
      RUNS,
    );
  });

  test('mergeState merges plain data: "__proto__" and friends are keys like any other', () => {
    fc.assert(
      fc.property(objectText, objectText, (a, b) => {
        const state = parseMessage(a) ?? {};
        const delta = parseMessage(b) ?? {};
        const merged = mergeState(state, delta);
        expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
        expect(plain(merged)).toEqual(plain(reference(state, delta)));
        for (const k of Object.keys(delta)) expect(Object.hasOwn(merged, k)).toBe(true);
      }),
      RUNS,
    );
    const merged = mergeState({ a: 1 }, parseMessage('{"__proto__":{"polluted":true}}') ?? {});
    expect((merged as { polluted?: boolean }).polluted).toBeUndefined();
    expect(({} as { polluted?: boolean }).polluted).toBeUndefined();
  });

  test("IP addresses round-trip through the printer's little-endian form", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 255 }),
        fc.nat(255),
        fc.nat(255),
        fc.integer({ min: 1, max: 255 }),
        (a, b, c, d) => {
          const ip = `${a}.${b}.${c}.${d}`;
          expect(ipFromLittleEndianU32(ipToLittleEndianU32(ip))).toBe(ip);
        },
      ),
      RUNS,
    );
    fc.assert(
      fc.property(fc.double(), (n) => void ipFromLittleEndianU32(n)),
      RUNS,
    );
  });
});
