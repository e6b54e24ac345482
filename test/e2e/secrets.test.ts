import { buildConfig } from '../../src/config/load';
import { rootLogger } from '../../src/log';
import { captureLogs, type Gateway, httpGet, spec, startGateway, waitFor } from '../helpers';

describe('secrets', () => {
  let gw: Gateway;
  afterEach(async () => gw?.stop());

  test('no log line and no HTTP answer contains an access code or viewer code', async () => {
    const logs = captureLogs('debug');
    const good = spec({ accessCode: 'G00dC0de' });
    const bad = spec({ accessCode: 'R3alC0de' });
    const viewerCode = 'V1ewC0de';
    try {
      gw = await startGateway([good, bad], {
        entry: (p) => (p.spec === bad ? { access_code: 'Wr0ngC0de', viewer_code: viewerCode } : {}),
      });
      const ids = gw.fleet.map((p) => p.spec.id);
      await waitFor(() => gw.app.workers.get(ids[1])!.status.state === 'auth_failed', 10_000, 'auth failure');
      // A config mistake next to a code must not print it either.
      const { problems } = buildConfig({ printers: [{ host: 'bad host', access_code: 'Wr0ngC0de' }] }, {});
      for (const p of problems) rootLogger.error(p);
      rootLogger.info('about to use Wr0ngC0de'); // even a careless log call is redacted
      const answers: string[] = [];
      for (const path of [
        '/api/printers',
        ...ids.map((id) => `/api/printers/${id}`),
        '/metrics',
        '/healthz',
        '/',
        '/app.js',
        `/printers/${ids[1]}/snapshot.jpg`,
        '/printers/unknown/snapshot.jpg',
      ]) {
        const res = await httpGet(`${gw.base}${path}`);
        answers.push(JSON.stringify(res.headers) + res.body.toString('latin1'));
      }
      const everything = [...logs.lines, ...answers, ...problems].join('\n');
      expect(logs.lines.length).toBeGreaterThan(3);
      expect(everything).toContain('wrong access code');
      for (const secret of ['G00dC0de', 'Wr0ngC0de', viewerCode]) expect(everything).not.toContain(secret);
    } finally {
      logs.restore();
    }
  });
});
