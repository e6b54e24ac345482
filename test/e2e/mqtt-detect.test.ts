import { createServer, type Server } from 'node:net';
import { captureLogs, type Gateway, httpJson, spec, startGateway, waitFor } from '../helpers';
import { MjpegClient } from '../mjpeg-client';

interface PrinterJson {
  model: string;
  camera: { kind: string | null; reason: string };
  source: { state: string; reason: string | null; last_error: string | null };
  frames_in: number;
  mqtt: {
    state: string;
    reason: string | null;
    last_error: string | null;
    model: string | null;
    product_name: string | null;
    firmware: string | null;
    reported_ip: string | null;
    ipcam: { present: boolean | null; rtsp_url: string | null; liveview: string | null } | null;
    chamber_light: string | null;
  };
  light: { mode: string; state?: string; reason?: string | null };
}

/** Poll the printer's API answer until `ok` holds; returns that answer. */
async function apiUntil(
  gw: Gateway,
  id: string,
  ok: (p: PrinterJson) => unknown,
  what: string,
): Promise<PrinterJson> {
  return waitFor(
    async () => {
      const p = await api(gw, id);
      return ok(p) ? p : null;
    },
    20_000,
    what,
  ) as Promise<PrinterJson>;
}

const api = (gw: Gateway, id: string) => httpJson<PrinterJson>(`${gw.base}/api/printers/${id}`);

describe('printer MQTT link and camera detection', () => {
  let gw: Gateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  test('a P1S configured with only host, access code and serial: chamber camera, because the printer says P1S over MQTT', async () => {
    gw = await startGateway([spec({ model: 'P1S', mqtt: { reportedIp: '192.168.1.100' } })], {
      entry: (p) => p.autoEntry(),
    });
    const id = gw.fleet[0].spec.id;
    const p = await apiUntil(gw, id, (j) => j.frames_in > 0 && j.mqtt.ipcam, 'frames and MQTT state');
    expect(p.camera.kind).toBe('chamber');
    expect(p.camera.reason).toContain('Bambu Lab P1S');
    expect(p.camera.reason).toContain('MQTT');
    expect(p.model).toBe('P1S');
    expect(p.mqtt).toMatchObject({
      state: 'connected',
      model: 'P1S',
      product_name: 'Bambu Lab P1S',
      firmware: '01.08.00.00',
      reported_ip: '192.168.1.100',
      ipcam: { present: true, rtsp_url: null, liveview: null },
    });
    const sim = gw.fleet[0].mqtt!;
    expect(sim.stats.getVersions).toBe(1);
    expect(sim.stats.pushalls).toBe(1);
    expect(gw.fleet[0].camera.stats.tcpConnections).toBe(1);
  });

  test('an X1C configured with only host, access code and serial: RTSPS, and liveview off shows in the API', async () => {
    gw = await startGateway([spec({ model: 'X1C', serial: '00M00A000000077', mqtt: true })], {
      entry: (p) => p.autoEntry(),
    });
    const id = gw.fleet[0].spec.id;
    let p = await apiUntil(gw, id, (j) => j.camera.kind && j.mqtt.ipcam, 'camera decision');
    expect(p.camera.kind).toBe('rtsps');
    expect(p.camera.reason).toContain('X1 Carbon');
    expect(p.model).toBe('X1C');
    expect(p.mqtt.ipcam).toMatchObject({ present: true, liveview: 'on' });
    expect(p.mqtt.ipcam?.rtsp_url).toMatch(/^rtsps:\/\//);

    gw.fleet[0].mqtt!.setLiveview(false);
    p = await apiUntil(gw, id, (j) => j.mqtt.ipcam?.liveview === 'off', 'liveview off in the API');
    expect(p.mqtt.ipcam?.rtsp_url).toBe('disable');
  });

  test('a wrong access code reads "wrong access code" from MQTT and from the camera alike', async () => {
    gw = await startGateway([spec({ model: 'P1S', mqtt: true })], {
      entry: (p) => ({ ...p.autoEntry(), access_code: 'wrong000' }),
    });
    const id = gw.fleet[0].spec.id;
    const p = await apiUntil(
      gw,
      id,
      (j) => j.mqtt.state === 'auth_failed' && j.source.state === 'auth_failed',
      'both auth_failed',
    );
    expect(p.mqtt.reason).toContain('wrong access code');
    expect(p.mqtt.reason).toContain('CONNACK 5');
    expect(p.source.reason).toContain('wrong access code');
    // MQTT could not tell the model, so the serial number decided.
    expect(p.camera).toEqual({ kind: 'chamber', reason: 'serial number prefix of a P1S' });
    expect(gw.fleet[0].mqtt!.stats.authFailures).toBe(1);
  });

  test('a P1P gets no second pushall within 5 minutes when MQTT reconnects', async () => {
    gw = await startGateway([spec({ model: 'P1P', serial: '01S00A000000123', mqtt: true })], {
      entry: (p) => p.autoEntry(),
      tuning: { mqtt: { pushallMinIntervalMs: 0 } },
    });
    const sim = gw.fleet[0].mqtt!;
    await waitFor(() => sim.stats.pushalls === 1 && sim.stats.clients === 1, 20_000, 'first pushall');
    sim.dropAll();
    await waitFor(() => sim.stats.getVersions === 2, 20_000, 'reconnect');
    expect(sim.stats.connections).toBe(2);
    expect(sim.stats.pushalls).toBe(1);
  });

  test('a configured model that contradicts the printer is named in the log', async () => {
    const logs = captureLogs();
    try {
      gw = await startGateway([spec({ model: 'X1C', serial: '00M00A000000079', mqtt: true })], {
        entry: (p) => ({ ...p.autoEntry(), model: 'P1S' }),
      });
      await waitFor(
        () =>
          logs.lines.some((l) =>
            l.includes('the printer says it is a X1C, whose camera is rtsps, but chamber is in use'),
          ),
        20_000,
        'the warning',
      );
      const p = await api(gw, gw.fleet[0].spec.id);
      expect(p.camera).toEqual({ kind: 'chamber', reason: 'model P1S in the configuration' });
    } finally {
      logs.restore();
    }
  });

  describe('without serial or MQTT: port probe', () => {
    let rtspStandIn: Server | undefined;
    afterEach(async () => {
      await new Promise<void>((r) => (rtspStandIn ? rtspStandIn.close(() => r()) : r()));
      rtspStandIn = undefined;
    });

    test('a P1S whose :6000 sends a JPEG is a chamber camera', async () => {
      gw = await startGateway([spec({ model: 'P1S' })], {
        entry: (p) => ({ ...p.autoEntry(), serial: null, mqtt: false }),
      });
      const id = gw.fleet[0].spec.id;
      const p = await apiUntil(gw, id, (j) => j.frames_in > 0, 'frames');
      expect(p.camera).toEqual({ kind: 'chamber', reason: expect.stringContaining('sent a JPEG picture') });
      expect(p.mqtt.state).toBe('disabled');
    });

    test("an X1C's :6000 file tunnel is not mistaken for a camera; :322 open makes it RTSPS", async () => {
      rtspStandIn = createServer((s) => s.destroy());
      await new Promise<void>((r) => rtspStandIn!.listen(0, '127.0.0.1', () => r()));
      const rtspsPort = (rtspStandIn.address() as { port: number }).port;
      gw = await startGateway([spec({ model: 'X1C', serial: '00M00A000000078' })], {
        entry: (p) => ({
          ...p.autoEntry(),
          serial: null,
          mqtt: false,
          ports: { chamber: p.chamberPort, rtsps: rtspsPort },
        }),
      });
      const id = gw.fleet[0].spec.id;
      const p = await apiUntil(gw, id, (j) => j.camera.kind, 'camera decision');
      expect(p.camera.kind).toBe('rtsps');
      expect(p.camera.reason).toContain('sent no JPEG');
    });
  });

  describe('light: auto', () => {
    test('the chamber light is on while someone watches and restored after', async () => {
      const logs = captureLogs();
      try {
        gw = await startGateway([spec({ model: 'P1S', mqtt: true })], {
          entry: (p) => ({ ...p.autoEntry(), light: 'auto' }),
          tuning: { lightOffDelayMs: 200 },
        });
        const sim = gw.fleet[0].mqtt!;
        const id = gw.fleet[0].spec.id;
        await waitFor(async () => (await api(gw!, id)).mqtt.state === 'connected', 20_000, 'MQTT');
        expect(sim.chamberLight).toBe('off');
        const viewer = new MjpegClient(`${gw.base}/printers/${id}/stream.mjpeg`);
        await viewer.waitForParts(1);
        await waitFor(() => sim.chamberLight === 'on', 10_000, 'light on');
        expect((await api(gw, id)).light).toMatchObject({ mode: 'auto', state: 'on' });
        viewer.close();
        await waitFor(() => sim.chamberLight === 'off', 10_000, 'light restored');
        expect(sim.stats.ledctrls).toBe(2);
      } finally {
        logs.restore();
      }
    });

    test('a printer that refuses the light command is reported once, not asked in a loop', async () => {
      const logs = captureLogs();
      try {
        gw = await startGateway([spec({ model: 'P1S', mqtt: { developerMode: false } })], {
          entry: (p) => ({ ...p.autoEntry(), light: 'auto' }),
          tuning: { lightOffDelayMs: 100 },
        });
        const sim = gw.fleet[0].mqtt!;
        const id = gw.fleet[0].spec.id;
        await waitFor(async () => (await api(gw!, id)).mqtt.state === 'connected', 20_000, 'MQTT');
        for (let i = 0; i < 3; i++) {
          const viewer = new MjpegClient(`${gw.base}/printers/${id}/stream.mjpeg`);
          await viewer.waitForParts(1);
          await waitFor(async () => (await api(gw!, id)).light.state === 'refused', 10_000, 'refused');
          viewer.close();
          await waitFor(async () => (await api(gw!, id)).light.state === 'refused', 10_000, 'still refused');
        }
        const p = await api(gw, id);
        expect(p.light.reason).toContain('developer mode');
        expect(sim.stats.ledctrls).toBe(1);
        expect(sim.chamberLight).toBe('off');
        expect(logs.lines.filter((l) => l.includes('refused to switch the chamber light'))).toHaveLength(1);
      } finally {
        logs.restore();
      }
    });
  });
});
