/**
 * The camera-kind decision order (PROTOCOLS.md §1) with jest's fake clock: configuration, then the
 * model the printer names over MQTT, then the serial prefix, then `ipcam.rtsp_url`, then the port
 * probe. The MQTT link is a real MqttLink that is never started (its reports are set as the
 * printer's would set them); the probe is a fake that records its calls.
 */
import { buildConfig, type PrinterConfig } from '../../src/config/load';
import { rootLogger } from '../../src/log';
import {
  type CameraDecision,
  decideCamera,
  detectCamera,
  MQTT_WAIT_MS,
  PROBE_TIMEOUT_MS,
} from '../../src/source/detect';
import { MqttLink } from '../../src/source/mqtt-link';

const X1C_SERIAL = '00M00A000000001';
const P1S_SERIAL = '01P00A000000001';

function printer(entry: Record<string, unknown>): PrinterConfig {
  const { config } = buildConfig({ printers: [{ host: '127.0.0.1', access_code: '12345678', ...entry }] });
  expect(config.printers).toHaveLength(1);
  return config.printers[0];
}

/** An MqttLink that never connects: the test plays the printer's answers. */
function mqttLink(serial = P1S_SERIAL): MqttLink {
  return new MqttLink({
    host: '127.0.0.1',
    port: 8883,
    accessCode: '12345678',
    serial,
    tls: { fingerprint: null, caFile: null },
    log: rootLogger.child('test'),
  });
}

/** The printer answers `get_version` with this product name. */
function answerVersion(link: MqttLink, productName: string): void {
  link.version = { productName, firmware: '01.08.00.00', modelCode: null };
  link.emit('version', link.version);
}

const probeSays: CameraDecision = { kind: 'chamber', reason: 'port 6000 sent a JPEG picture (port probe)' };

/** Start a detection; `decision()` is null until it has decided. */
function detect(opts: Omit<Parameters<typeof detectCamera>[0], 'probe'>) {
  const probeCalls: { printer: PrinterConfig; timeoutMs: number }[] = [];
  let result: CameraDecision | null = null;
  const done = detectCamera({
    ...opts,
    probe: async (p, timeoutMs) => {
      probeCalls.push({ printer: p, timeoutMs });
      return probeSays;
    },
  }).then((d) => {
    result = d;
    return d;
  });
  return { done, probeCalls, decision: () => result };
}

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('camera kind from the configuration alone', () => {
  test('camera, then model, then serial prefix; null when only detection can tell', () => {
    expect(decideCamera(printer({ camera: 'chamber', model: 'X1C', serial: X1C_SERIAL }))?.kind).toBe(
      'chamber',
    );
    expect(decideCamera(printer({ model: 'X1C', serial: P1S_SERIAL }))).toEqual({
      kind: 'rtsps',
      reason: 'model X1C in the configuration',
    });
    expect(decideCamera(printer({ serial: P1S_SERIAL }))).toEqual({
      kind: 'chamber',
      reason: 'serial number prefix of a P1S',
    });
    expect(decideCamera(printer({ serial: 'ZZZ00A000000001' }))).toBeNull();
    expect(decideCamera(printer({}))).toBeNull();
  });
});

describe('detectCamera decision order', () => {
  test('camera: in the configuration wins at once: MQTT is not waited for, nothing is probed', async () => {
    const link = mqttLink();
    const d = detect({ printer: printer({ camera: 'rtsps', serial: P1S_SERIAL }), mqtt: link });
    await jest.advanceTimersByTimeAsync(0);
    expect(d.decision()).toEqual({ kind: 'rtsps', reason: 'camera: rtsps in the configuration' });
    expect(d.probeCalls).toHaveLength(0);
  });

  test('model: in the configuration wins over what the printer says and over its serial', async () => {
    const link = mqttLink();
    answerVersion(link, 'Bambu Lab P1S');
    const d = detect({ printer: printer({ model: 'X1C', serial: P1S_SERIAL }), mqtt: link });
    await jest.advanceTimersByTimeAsync(0);
    expect(d.decision()).toEqual({ kind: 'rtsps', reason: 'model X1C in the configuration' });
  });

  test("the printer's own word over MQTT beats its serial prefix, as soon as it answers", async () => {
    const link = mqttLink();
    // The serial says P1S (chamber); the printer says it is an X1 Carbon.
    const d = detect({ printer: printer({ serial: P1S_SERIAL }), mqtt: link });
    await jest.advanceTimersByTimeAsync(2999);
    expect(d.decision()).toBeNull();
    answerVersion(link, 'Bambu Lab X1 Carbon');
    await jest.advanceTimersByTimeAsync(1);
    expect(d.decision()).toEqual({
      kind: 'rtsps',
      reason: 'the printer says it is a "Bambu Lab X1 Carbon" (MQTT get_version)',
    });
    expect(d.probeCalls).toHaveLength(0);
  });

  test('a silent MQTT link is waited for 15 s, then the serial prefix decides', async () => {
    expect(MQTT_WAIT_MS).toBe(15_000);
    const link = mqttLink();
    link.status.set('streaming');
    const d = detect({ printer: printer({ serial: P1S_SERIAL }), mqtt: link });
    await jest.advanceTimersByTimeAsync(14_999);
    expect(d.decision()).toBeNull();
    await jest.advanceTimersByTimeAsync(1);
    expect(d.decision()).toEqual({ kind: 'chamber', reason: 'serial number prefix of a P1S' });
  });

  test('mqttWaitMs shortens the wait', async () => {
    const d = detect({
      printer: printer({ serial: X1C_SERIAL }),
      mqtt: mqttLink(X1C_SERIAL),
      mqttWaitMs: 2000,
    });
    await jest.advanceTimersByTimeAsync(1999);
    expect(d.decision()).toBeNull();
    await jest.advanceTimersByTimeAsync(1);
    expect(d.decision()?.kind).toBe('rtsps');
  });

  test.each([
    ['auth_failed', 'a wrong access code'],
    ['offline', 'an unreachable MQTT server'],
  ] as const)(
    'MQTT in state %s (%s) is not waited for: the serial prefix decides within a poll',
    async (state, _why) => {
      const link = mqttLink();
      const d = detect({ printer: printer({ serial: P1S_SERIAL }), mqtt: link });
      await jest.advanceTimersByTimeAsync(1000);
      expect(d.decision()).toBeNull();
      link.status.set(state, 'it failed');
      await jest.advanceTimersByTimeAsync(100);
      expect(d.decision()).toEqual({ kind: 'chamber', reason: 'serial number prefix of a P1S' });
    },
  );

  test('an unknown serial with ipcam.rtsp_url over MQTT means RTSPS, without a probe', async () => {
    const link = mqttLink('ZZZ00A000000001');
    link.state = { ipcam: { ipcam_dev: '1', rtsp_url: 'disable' } };
    const d = detect({ printer: printer({ serial: 'ZZZ00A000000001' }), mqtt: link, mqttWaitMs: 1000 });
    await jest.advanceTimersByTimeAsync(1000);
    expect(d.decision()).toEqual({
      kind: 'rtsps',
      reason: 'the printer reports an RTSP liveview setting (rtsp_url) over MQTT',
    });
    expect(d.probeCalls).toHaveLength(0);
  });

  test('with nothing else to go by, the port probe decides (with its timeout)', async () => {
    const p = printer({});
    const d = detect({ printer: p, mqtt: null });
    await jest.advanceTimersByTimeAsync(0);
    expect(d.decision()).toEqual(probeSays);
    expect(d.probeCalls).toEqual([{ printer: p, timeoutMs: PROBE_TIMEOUT_MS }]);
  });

  test('a silent MQTT link and an unknown serial: the probe runs after the MQTT wait, not before', async () => {
    const link = mqttLink('ZZZ00A000000001');
    const d = detect({
      printer: printer({ serial: 'ZZZ00A000000001' }),
      mqtt: link,
      probeTimeoutMs: 1234,
    });
    await jest.advanceTimersByTimeAsync(MQTT_WAIT_MS - 1);
    expect(d.probeCalls).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(d.probeCalls).toHaveLength(1);
    expect(d.probeCalls[0].timeoutMs).toBe(1234);
    expect(await d.done).toEqual(probeSays);
  });

  test('an abort ends the MQTT wait early', async () => {
    const controller = new AbortController();
    const d = detect({
      printer: printer({ serial: P1S_SERIAL }),
      mqtt: mqttLink(),
      signal: controller.signal,
    });
    await jest.advanceTimersByTimeAsync(500);
    controller.abort();
    await jest.advanceTimersByTimeAsync(100);
    expect(d.decision()?.kind).toBe('chamber');
  });
});
