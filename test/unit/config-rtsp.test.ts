import { buildConfig, ConfigError } from '../../src/config/load';
import { redact } from '../../src/log';

describe('RTSP configuration keys', () => {
  const printer = { host: '10.0.0.5', access_code: '12345678' };

  test('defaults', () => {
    const { config } = buildConfig({ printers: [printer] });
    expect(config.rtsp).toEqual({ port: 8554, host: '0.0.0.0', users: [] });
    expect(config.printers[0]).toMatchObject({ rtspsWallclock: false, h264Fps: 10, jpegFps: 2 });
    expect(config.printers[0].native.rtsps).toEqual({ port: 322, host: null });
  });

  test('users are validated by key and their passwords are secrets', () => {
    const { config } = buildConfig({
      rtsp: { users: [{ username: 'ha', password: 'pw-for-rtsp' }] },
      printers: [{ ...printer, rtsps_wallclock: true, h264_fps: 15, jpeg_fps: 1 }],
    });
    expect(config.rtsp.users).toEqual([{ username: 'ha', password: 'pw-for-rtsp' }]);
    expect(redact('rtsp://ha:pw-for-rtsp@gw/p')).toBe('rtsp://ha:***@gw/p');
    expect(config.printers[0]).toMatchObject({ rtspsWallclock: true, h264Fps: 15, jpegFps: 1 });
    expect(() => buildConfig({ rtsp: { users: [{ username: 'a:b', password: 'x' }] } })).toThrow(ConfigError);
    expect(() => buildConfig({ rtsp: { users: [{ username: 'a', password: 'x', role: 1 }] } })).toThrow(
      /rtsp\.users.*unknown key "role"/s,
    );
  });

  test('a bad fps names the printer key and skips only that printer', () => {
    const loaded = buildConfig({
      printers: [
        { ...printer, h264_fps: 0 },
        { ...printer, host: '10.0.0.6' },
      ],
    });
    expect(loaded.config.printers).toHaveLength(1);
    expect(loaded.problems[0]).toMatch(/printers\[0\]\.h264_fps/);
  });
});
