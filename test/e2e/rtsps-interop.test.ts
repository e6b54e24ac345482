/**
 * The RTSPS source against an RTSP server that is not bambucam's (GStreamer's gst-rtsp-server,
 * Digest auth, its own RTP packetizer), behind a TLS wrapper that only moves bytes — so our
 * client and our server cannot share a misunderstanding. Then ffprobe reads bambucam's output.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { connect as netConnect } from 'node:net';
import { resolve } from 'node:path';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { App } from '../../src/app';
import { buildConfig } from '../../src/config/load';
import { generateCertificate } from '../../src/tls/certs';
import { FAST_TUNING, httpJson, waitFor } from '../helpers';
import { ffprobe } from '../rtsp-tools';

jest.setTimeout(60_000);

const SCRIPT = resolve(__dirname, '..', 'fixtures', 'gst-rtsp-server.py');

function startGst(user: string, password: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolvePort, reject) => {
    // Debian's python3, which has python3-gi (see .ci/run).
    const child = spawn('/usr/bin/python3', [SCRIPT, '0', user, password, '320', '240'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.stdout?.on('data', (d: Buffer) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolvePort({ child, port: Number(m[1]) });
    });
    child.on('close', (code) => reject(new Error(`gst-rtsp-server exited with ${code}: ${err}`)));
  });
}

/** TLS in front of a plain TCP port: bytes in, bytes out, no RTSP knowledge. */
async function tlsWrapper(targetPort: number): Promise<TlsServer> {
  const server = createTlsServer(generateCertificate({ commonName: '00M00A000000099' }), (tls) => {
    const plain = netConnect(targetPort, '127.0.0.1');
    tls.pipe(plain).pipe(tls);
    tls.on('error', () => plain.destroy());
    plain.on('error', () => tls.destroy());
    tls.on('close', () => plain.destroy());
    plain.on('close', () => tls.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

describe('RTSPS source against GStreamer RTSP server behind TLS', () => {
  let gst: ChildProcess | null = null;
  let wrapper: TlsServer | null = null;
  let app: App | null = null;
  afterEach(async () => {
    await app?.stop();
    app = null;
    if (wrapper) await new Promise((r) => wrapper!.close(r));
    wrapper = null;
    if (gst && gst.exitCode === null) {
      const closed = new Promise((r) => gst!.once('close', r));
      gst.kill('SIGKILL');
      await closed;
    }
    gst = null;
  });

  async function gateway(code: string): Promise<App> {
    const started = await startGst('bblp', 'gst-code1');
    gst = started.child;
    wrapper = await tlsWrapper(started.port);
    const port = (wrapper.address() as { port: number }).port;
    const loaded = buildConfig({
      http: { port: 0, host: '127.0.0.1' },
      rtsp: { port: 0, host: '127.0.0.1' },
      printers: [
        {
          id: 'gst',
          host: '127.0.0.1',
          access_code: code,
          serial: '00M00A000000099',
          camera: 'rtsps',
          ports: { rtsps: port },
          native: { rtsps: false, chamber: false },
        },
      ],
    });
    app = new App({ config: loaded.config, tuning: FAST_TUNING });
    await app.start();
    return app;
  }

  test('streams, copies H.264 to rtsp://gw/<id>, and makes JPEG snapshots', async () => {
    const gw = await gateway('gst-code1');
    const worker = gw.workers.get('gst')!;
    await waitFor(() => worker.status.state === 'streaming', 20_000, 'streaming from GStreamer');
    const [video] = await ffprobe(`rtsp://127.0.0.1:${gw.rtspPort}/gst`);
    expect(video).toMatchObject({ codec_name: 'h264', width: 320, height: 240 });
    const frame = await worker.snapshotFrame(10_000);
    expect(frame?.jpeg.subarray(0, 4)).toEqual(Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    expect(worker.status.connectionsOpened).toBe(1);
  });

  test('a wrong access code is reported as such', async () => {
    const gw = await gateway('wrong-code');
    const worker = gw.workers.get('gst')!;
    await waitFor(() => worker.status.state === 'auth_failed', 20_000, 'auth_failed');
    const api = await httpJson<{ source: { reason: string } }>(
      `http://127.0.0.1:${gw.httpPort}/api/printers/gst`,
    );
    expect(api.source.reason).toMatch(/wrong access code/);
  });
});
