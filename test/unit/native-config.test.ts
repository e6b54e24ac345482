import { buildConfig } from '../../src/config/load';

const printer = (n: number, extra: Record<string, unknown> = {}) => ({
  name: `P${n}`,
  host: `10.0.0.${n}`,
  access_code: `code000${n}`,
  ...extra,
});

describe('native chamber configuration', () => {
  test('one printer gets the printer port 6000 on http.host; further printers the next free ports', () => {
    const { config, problems } = buildConfig(
      { printers: [printer(1), printer(2, { native: { chamber: { port: 6001 } } }), printer(3)] },
      {},
    );
    expect(problems).toEqual([]);
    expect(config.printers.map((p) => (p.native.chamber ? p.native.chamber.port : null))).toEqual([
      6000, 6001, 6002,
    ]);
  });

  test('two printers on the same address:port are refused with a message naming both', () => {
    const { config, problems } = buildConfig(
      {
        printers: [
          printer(1, { native: { chamber: { port: 7000 } } }),
          printer(2, { native: { chamber: { port: 7000, host: '127.0.0.1' } } }),
          printer(3, { native: { chamber: { port: 7000, host: '127.0.0.1' } } }),
        ],
      },
      {},
    );
    expect(config.printers.map((p) => p.name)).toEqual(['P1']);
    expect(problems[0]).toMatch(
      /^printers\[1\]\.native\.chamber: 127\.0\.0\.1:7000 is already the native chamber address of printer "p1" \(printers\[0\]\)/,
    );
    expect(problems).toHaveLength(2);
  });

  test('the same port on two different addresses is fine; port 0 never collides', () => {
    const { problems } = buildConfig(
      {
        http: { host: '127.0.0.1' },
        printers: [
          printer(1, { native: { chamber: { port: 6000, host: '127.0.0.2' } } }),
          printer(2, { native: { chamber: { port: 6000, host: '127.0.0.3' } } }),
          printer(3, { native: { chamber: { port: 0 } } }),
          printer(4, { native: { chamber: { port: 0 } } }),
        ],
      },
      {},
    );
    expect(problems).toEqual([]);
  });

  test('native_auth viewer_only needs a viewer_code', () => {
    const { problems } = buildConfig({ printers: [printer(1, { native_auth: 'viewer_only' })] }, {});
    expect(problems[0]).toMatch(/^printers\[0\]\.native_auth: viewer_only needs a viewer_code/);
    const ok = buildConfig(
      { printers: [printer(1, { native_auth: 'viewer_only', viewer_code: 'letmesee' })] },
      {},
    );
    expect(ok.config.printers[0].nativeAuth).toBe('viewer_only');
  });

  test('data_dir defaults under the working directory, and BAMBUCAM_DATA_DIR overrides it', () => {
    expect(buildConfig({}, {}).config.dataDir).toBe(`${process.cwd()}/.bambucam-data`);
    expect(buildConfig({}, { BAMBUCAM_DATA_DIR: '/data' }).config.dataDir).toBe('/data');
  });
});
