import { EventEmitter } from 'node:events';
import { buildConfig } from '../../src/config/load';
import { Logger } from '../../src/log';
import type { PrinterMqtt } from '../../src/output/printer-mqtt';
import {
  classifyRequest,
  fullStateReport,
  hideCodes,
  isFullReport,
  topicMatches,
  versionReport,
} from '../../src/protocol/mqtt-reserve';
import { newRequestCounters, RequestRouter } from '../../src/serve/native-mqtt/requests';
import { TokenBucket } from '../../src/serve/native-mqtt/token-bucket';

const REPORT = 'device/01P00A000000001/report';

describe('MQTT topic filters (MQTT 3.1.1 §4.7)', () => {
  test.each([
    ['#', REPORT, true],
    ['device/#', REPORT, true],
    ['device/+/report', REPORT, true],
    ['device/01P00A000000001/report', REPORT, true],
    ['device/01P00A000000001/#', REPORT, true],
    ['device/01P00A000000001/report/#', REPORT, true], // '#' also matches the parent level
    ['+/+/+', REPORT, true],
    ['device/+', REPORT, false],
    ['device/OTHER/report', REPORT, false],
    ['device/01P00A000000001/request', REPORT, false],
    ['device/+/report/x', REPORT, false],
    ['+/+/+/+', REPORT, false],
    ['#', '$SYS/broker/new/clients', false],
    ['+/broker/#', '$SYS/broker', false],
    ['$SYS/#', '$SYS/broker', true],
  ])('%s matches %s: %s', (filter, topic, expected) => {
    expect(topicMatches(filter, topic)).toBe(expected);
  });
});

describe("clients' requests and bambucam's answers in the printer's format", () => {
  test('requests are classified by family and command', () => {
    const c = (o: unknown) => classifyRequest(Buffer.from(JSON.stringify(o)));
    expect(c({ pushing: { sequence_id: '12', command: 'pushall' } })).toEqual({
      kind: 'pushall',
      sequenceId: '12',
    });
    expect(c({ pushing: { command: 'pushall' } })).toEqual({ kind: 'pushall', sequenceId: '0' });
    expect(c({ pushing: { sequence_id: '1', command: 'start' } })).toEqual({
      kind: 'pushing',
      command: 'start',
    });
    expect(c({ info: { sequence_id: 7, command: 'get_version' } })).toEqual({
      kind: 'get_version',
      sequenceId: 7,
    });
    expect(c({ system: { command: 'get_access_code' } })).toEqual({
      kind: 'secret',
      command: 'system.get_access_code',
    });
    expect(c({ system: { command: 'ledctrl', led_node: 'chamber_light' } })).toEqual({
      kind: 'command',
      command: 'system.ledctrl',
    });
    expect(c({ print: { command: 'pause', sequence_id: '3' } })).toEqual({
      kind: 'command',
      command: 'print.pause',
    });
    expect(classifyRequest(Buffer.from('not json'))).toEqual({ kind: 'invalid' });
    expect(classifyRequest(Buffer.from('[1,2]'))).toEqual({ kind: 'invalid' });
  });

  test('a pushall answer is the merged state as a full push_status with the asker’s sequence_id', () => {
    const state = {
      command: 'push_status',
      msg: 1,
      sequence_id: '99',
      nozzle_temper: 25,
      ipcam: { ipcam_dev: '1' },
    };
    expect(fullStateReport(state, '4242')).toEqual({
      print: {
        command: 'push_status',
        msg: 0,
        sequence_id: '4242',
        nozzle_temper: 25,
        ipcam: { ipcam_dev: '1' },
      },
    });
    expect(isFullReport(fullStateReport(state, '1'))).toBe(true);
    expect(isFullReport({ print: { command: 'push_status', msg: 1 } })).toBe(false);
    expect(isFullReport({ print: { command: 'pause', msg: 0 } })).toBe(false);
    expect(isFullReport(null)).toBe(false);
    const info = {
      command: 'get_version',
      sequence_id: '1',
      module: [{ name: 'ota', sw_ver: '01.08.00.00' }],
    };
    expect(versionReport(info, '8')).toEqual({
      info: { command: 'get_version', sequence_id: '8', module: [{ name: 'ota', sw_ver: '01.08.00.00' }] },
    });
  });

  test('codes are replaced by stars wherever they occur; untouched payloads are not copied', () => {
    const codes = [Buffer.from('12345678'), Buffer.from('viewme')];
    const clean = Buffer.from('{"print":{"nozzle_temper":24}}');
    expect(hideCodes(clean, codes)).toBe(clean);
    const leaky = Buffer.from('{"system":{"access_code":"12345678","x":"12345678viewme"}}');
    const hidden = hideCodes(leaky, codes);
    expect(hidden.toString()).toBe('{"system":{"access_code":"********","x":"**************"}}');
    expect(leaky.toString()).toContain('12345678'); // the original is not changed
    expect(JSON.parse(hidden.toString()).system.access_code).toBe('********');
  });
});

describe('token bucket', () => {
  test('a burst, then the rate', () => {
    let now = 0;
    const bucket = new TokenBucket(10, 20, () => now);
    let taken = 0;
    for (let i = 0; i < 100; i++) if (bucket.take()) taken++;
    expect(taken).toBe(20);
    now += 1000; // one second: ten more
    taken = 0;
    for (let i = 0; i < 100; i++) if (bucket.take()) taken++;
    expect(taken).toBe(10);
    now += 60_000; // never more than the burst saved up
    taken = 0;
    for (let i = 0; i < 100; i++) if (bucket.take()) taken++;
    expect(taken).toBe(20);
  });
});

class FakeLink extends EventEmitter {
  connected = true;
  state: Record<string, unknown> = {};
  stateComplete = false;
  fullStateAt: number | null = null;
  versionInfo: Record<string, unknown> | null = null;
  forwarded: string[] = [];
  pushallAllowed = true;
  pushalls = 0;
  request(): boolean {
    return true;
  }
  forward(payload: Buffer): boolean {
    if (!this.connected) return false;
    this.forwarded.push(payload.toString());
    return true;
  }
  requestPushall(): boolean {
    if (!this.pushallAllowed || !this.connected) return false;
    this.pushallAllowed = false;
    this.pushalls++;
    return true;
  }
}

describe('request router', () => {
  const quiet = new Logger();
  const setup = () => {
    const link = new FakeLink();
    const router = new RequestRouter(link as unknown as PrinterMqtt, newRequestCounters(), quiet);
    const frozen = () => 0; // no refill while the test runs
    const rw = { remote: 'rw', readOnly: false, bucket: new TokenBucket(10, 20, frozen) };
    const ro = { remote: 'ro', readOnly: true, bucket: new TokenBucket(10, 20, frozen) };
    return { link, router, rw, ro };
  };
  const msg = (o: unknown) => Buffer.from(JSON.stringify(o));

  test('pushall: answered from the merged state; the printer asked only while that state is incomplete', () => {
    const { link, router, ro } = setup();
    const pushall = msg({ pushing: { sequence_id: '5', command: 'pushall' } });
    // Never had the whole state: no answer, but the printer is asked (its answer reaches everyone).
    link.state = { command: 'push_status', nozzle_temper: 29 };
    expect(router.handle(ro, pushall)).toBeNull();
    expect(link.pushalls).toBe(1);
    link.state = { command: 'push_status', nozzle_temper: 30 };
    link.fullStateAt = 1;
    // Incomplete again (a reconnect), and the model's pushall limit holds: answered from what
    // bambucam has, the printer not asked.
    expect(router.handle(ro, pushall)).toEqual({
      print: { command: 'push_status', msg: 0, sequence_id: '5', nozzle_temper: 30 },
    });
    expect(link.pushalls).toBe(1);
    link.stateComplete = true;
    link.pushallAllowed = true;
    for (let i = 0; i < 50; i++) router.handle(ro, pushall);
    expect(link.pushalls).toBe(1); // complete: never asked
    expect(router.counters.pushallAnswered).toBe(51);
    expect(router.counters.pushallUpstream).toBe(1);
    expect(link.forwarded).toEqual([]);
  });

  test('get_version: from the cache; asked of the printer only while unknown', () => {
    const { link, router, ro } = setup();
    const ask = msg({ info: { sequence_id: '9', command: 'get_version' } });
    expect(router.handle(ro, ask)).toBeNull();
    expect(link.forwarded).toHaveLength(1);
    link.versionInfo = { command: 'get_version', sequence_id: '1', module: [] };
    expect(router.handle(ro, ask)).toEqual({
      info: { command: 'get_version', sequence_id: '9', module: [] },
    });
    expect(link.forwarded).toHaveLength(1);
    expect(router.counters.versionAnswered).toBe(1);
  });

  test('commands: read-write forwarded unchanged and rate-limited per client; read-only refused; get_access_code withheld', () => {
    const { link, router, rw, ro } = setup();
    const led = msg({ system: { sequence_id: '77', command: 'ledctrl', led_mode: 'on' } });
    expect(router.handle(rw, led)).toBeNull();
    expect(link.forwarded).toEqual([led.toString()]);
    expect(router.handle(ro, led)).toBeNull();
    expect(router.counters.refused).toBe(1);
    expect(router.handle(rw, msg({ system: { sequence_id: '1', command: 'get_access_code' } }))).toBeNull();
    expect(router.counters.withheld).toBe(1);
    expect(router.handle(rw, Buffer.from('garbage'))).toBeNull();
    expect(router.counters.invalid).toBe(1);
    // pushing start/stop would change what everyone gets: never forwarded, not counted as refused.
    router.handle(rw, msg({ pushing: { sequence_id: '1', command: 'stop' } }));
    expect(link.forwarded).toHaveLength(1);
    for (let i = 0; i < 100; i++) router.handle(rw, led);
    // A burst of 20 (one taken above), the rest dropped.
    expect(router.counters.forwarded).toBe(20);
    expect(router.counters.rateLimited).toBe(81);
    link.connected = false;
    const other = { remote: 'rw2', readOnly: false, bucket: new TokenBucket(10, 20) };
    router.handle(other, led);
    expect(router.counters.printerOffline).toBe(1);
  });
});

describe('native.mqtt configuration', () => {
  const printer = (n: number, extra: Record<string, unknown> = {}) => ({
    id: `p${n}`,
    host: `192.168.1.${n}`,
    access_code: `code${n}xyz`,
    serial: `01P00A00000000${n}`,
    ...extra,
  });

  test('default 8883, the next free port for further printers, false disables, clashes reported', () => {
    const { config, problems } = buildConfig(
      {
        printers: [
          printer(1),
          printer(2, { native: { mqtt: { port: 8884 } } }),
          printer(3),
          printer(4, { native: { mqtt: false } }),
        ],
      },
      {},
    );
    expect(problems).toEqual([]);
    expect(config.printers.map((p) => (p.native.mqtt ? p.native.mqtt.port : null))).toEqual([
      8883,
      8884,
      8885,
      null,
    ]);
    // The chamber ports are assigned on their own.
    expect(config.printers.map((p) => (p.native.chamber ? p.native.chamber.port : null))).toEqual([
      6000, 6001, 6002, 6003,
    ]);
    const clash = buildConfig(
      {
        printers: [
          printer(1, { native: { mqtt: { port: 9000 } } }),
          printer(2, { native: { mqtt: { port: 9000, host: '127.0.0.1' } } }),
        ],
      },
      {},
    );
    expect(clash.problems[0]).toMatch(
      /^printers\[1\]\.native\.mqtt: 127\.0\.0\.1:9000 is already the native MQTT address of printer "p1" \(printers\[0\]\)/,
    );
    expect(clash.config.printers.map((p) => p.id)).toEqual(['p1']);
  });

  test('bad values name the key and the rule', () => {
    const { problems } = buildConfig({ printers: [printer(1, { native: { mqtt: { port: 'x' } } })] }, {});
    expect(problems[0]).toMatch(/printers\[0\]\.native\.mqtt: .*port must be an integer/);
  });
});
