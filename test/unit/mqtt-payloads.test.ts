import { buildConfig } from '../../src/config/load';
import { modelByProduct } from '../../src/protocol/models';
import {
  getVersionRequest,
  ipFromLittleEndianU32,
  ipToLittleEndianU32,
  ledctrlRequest,
  mergeState,
  parseMessage,
  pushallRequest,
  readChamberLight,
  readIp,
  readIpcam,
  readSystemResult,
  readVersion,
} from '../../src/protocol/mqtt-payloads';

describe('printer MQTT payloads (PROTOCOLS.md §5)', () => {
  test('requests are the JSON the printer expects, sequence_id a string', () => {
    expect(pushallRequest()).toEqual({
      pushing: { sequence_id: '0', command: 'pushall', version: 1, push_target: 1 },
    });
    expect(getVersionRequest('7')).toEqual({ info: { sequence_id: '7', command: 'get_version' } });
    expect(ledctrlRequest('on')).toEqual({
      system: {
        sequence_id: '0',
        command: 'ledctrl',
        led_node: 'chamber_light',
        led_mode: 'on',
        led_on_time: 500,
        led_off_time: 500,
        loop_times: 0,
        interval_time: 0,
      },
    });
  });

  test('the IP is a little-endian u32: 1677830336 is 192.168.1.100', () => {
    expect(ipFromLittleEndianU32(1677830336)).toBe('192.168.1.100');
    expect(ipToLittleEndianU32('192.168.1.100')).toBe(1677830336);
    expect(ipFromLittleEndianU32(0)).toBeNull();
    expect(ipFromLittleEndianU32(-1)).toBeNull();
    expect(
      readIp({
        net: {
          info: [
            { ip: 0, mask: 0 },
            { ip: 1677830336, mask: 16777215 },
          ],
        },
      }),
    ).toBe('192.168.1.100');
    expect(readIp({ net: 'nonsense' })).toBeNull();
  });

  test('ipcam: rtsp_url "disable" is liveview off, a URL is on, absent (chamber models) is unknown', () => {
    expect(readIpcam({ ipcam: { ipcam_dev: '1', rtsp_url: 'disable' } })).toMatchObject({
      present: true,
      liveview: 'off',
    });
    expect(
      readIpcam({ ipcam: { ipcam_dev: '1', rtsp_url: 'rtsps://192.168.1.5/streaming/live/1' } }),
    ).toMatchObject({
      liveview: 'on',
      rtspUrl: 'rtsps://192.168.1.5/streaming/live/1',
    });
    expect(readIpcam({ ipcam: { ipcam_dev: '0' } })).toMatchObject({
      present: false,
      liveview: null,
      rtspUrl: null,
    });
    expect(readIpcam({})).toBeNull();
  });

  test('P1 deltas merge into the full state key by key; arrays are replaced', () => {
    const full = {
      ipcam: { ipcam_dev: '1', resolution: '720p' },
      lights_report: [{ node: 'chamber_light', mode: 'off' }],
      mc_percent: 0,
    };
    const merged = mergeState(full, {
      mc_percent: 12,
      ipcam: { resolution: '1080p' },
      lights_report: [{ node: 'chamber_light', mode: 'on' }],
    });
    expect(merged).toEqual({
      ipcam: { ipcam_dev: '1', resolution: '1080p' },
      lights_report: [{ node: 'chamber_light', mode: 'on' }],
      mc_percent: 12,
    });
    expect(readChamberLight(merged)).toBe('on');
    expect(full.mc_percent).toBe(0);
  });

  test('get_version: the ota module names the product and firmware', () => {
    const answer = parseMessage(
      Buffer.from(
        JSON.stringify({
          info: {
            command: 'get_version',
            module: [
              { name: 'mc', sw_ver: '00.00.30.80' },
              {
                name: 'ota',
                product_name: 'Bambu Lab X1 Carbon',
                sw_ver: '01.08.02.00',
                project_name: 'BL-P001',
              },
            ],
          },
        }),
      ),
    )!;
    expect(readVersion(answer)).toEqual({
      productName: 'Bambu Lab X1 Carbon',
      firmware: '01.08.02.00',
      modelCode: 'BL-P001',
    });
    expect(readVersion({ print: {} })).toBeNull();
    expect(modelByProduct('Bambu Lab X1 Carbon')?.name).toBe('X1C');
    expect(modelByProduct('Bambu Lab P1S')?.camera).toBe('chamber');
    expect(modelByProduct('Bambu Lab A1 mini')?.name).toBe('A1MINI');
    expect(modelByProduct('C12')?.name).toBe('P1S');
    expect(modelByProduct('Bambu Lab Unknown')).toBeUndefined();
  });

  test('system results: success, or a refusal with its reason', () => {
    expect(readSystemResult({ system: { command: 'ledctrl', result: 'success' } })).toEqual({
      command: 'ledctrl',
      ok: true,
      reason: null,
    });
    expect(
      readSystemResult({
        system: { command: 'ledctrl', result: 'failed', reason: 'mqtt message verify failed' },
      }),
    ).toEqual({
      command: 'ledctrl',
      ok: false,
      reason: 'mqtt message verify failed',
    });
    expect(readSystemResult({ system: { command: 'ledctrl' } })).toBeNull();
  });

  test('malformed reports are ignored, not thrown', () => {
    expect(parseMessage(Buffer.from('not json'))).toBeNull();
    expect(parseMessage(Buffer.from('[1,2]'))).toBeNull();
    expect(parseMessage(Buffer.from('{"print":{}}'))).toEqual({ print: {} });
  });
});

describe('configuration keys of issue 6', () => {
  const printer = { host: '192.168.1.50', access_code: '12345678', serial: '01P00A123456789' };

  test('defaults: MQTT on, light off, Home Assistant off with its documented defaults', () => {
    const { config } = buildConfig({ printers: [printer] }, {});
    expect(config.printers[0]).toMatchObject({ mqtt: true, light: 'off' });
    expect(config.homeassistant).toEqual({
      url: null,
      username: null,
      password: null,
      discoveryPrefix: 'homeassistant',
      baseTopic: 'bambucam',
      baseUrl: null,
      imageIntervalS: 10,
    });
  });

  test('bad values name the key and the rule', () => {
    expect(() => buildConfig({ homeassistant: { url: 'http://broker' }, printers: [] }, {})).toThrow(
      /homeassistant\.url.*MQTT broker URL/,
    );
    expect(() => buildConfig({ homeassistant: { base_topic: 'a/#' }, printers: [] }, {})).toThrow(
      /homeassistant\.base_topic.*wildcards/,
    );
    expect(() => buildConfig({ homeassistant: { base_url: 'gateway:8090' }, printers: [] }, {})).toThrow(
      /homeassistant\.base_url.*http:\/\//,
    );
    const { problems } = buildConfig({ printers: [{ ...printer, light: 'on' }] }, {});
    expect(problems[0]).toMatch(/printers\[0\]\.light/);
  });
});
