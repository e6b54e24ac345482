/**
 * Soak (issue 13, build item 6): the gateway runs for SOAK_MINUTES (default 30) against simulated
 * printers — two chamber printers, one configured with a wrong code, one X1-type over RTSPS — while
 * viewers open and close on every output: snapshot, MJPEG, HLS, RTSP, native :6000 and native RTSPS.
 * A printer drops all its connections every SOAK_DROP_S. Every minute it prints the gateway's RSS,
 * heap (after a full collection), handles, file descriptors and ffmpeg processes, and what the
 * viewers saw: pictures, and pictures out of order (a simulator sequence number or an RTP sequence
 * number going back). At the end every viewer closes, the idle transcoders stop, and the last line
 * is compared with the first one taken before any viewer.
 *
 * Then, as someone hostile would, for SOAK_ABUSE_S: snapshots at 40 distinct sizes a second (the
 * resize lever of issue 13), 256 idle sockets and a wrong code every 100 ms on native :6000, garbage
 * on RTSP; and the gateway idles for SOAK_IDLE_MIN minutes with its figures printed each minute: the
 * demo's RSS had crept from 424 to 503 MB while idling after such abuse.
 *
 * Knobs: SOAK_MINUTES, SOAK_DROP_S (120), SOAK_ACTIVE (40 viewers at most at once), SOAK_OPEN_MS
 * (one new viewer every this many ms, 250), SOAK_ABUSE_S (60), SOAK_IDLE_MIN (5).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { locateFfmpeg } from '../src/ffmpeg/locate';
import { encodeAuthPacket } from '../src/protocol/chamber';
import { digestAuthorization, parseChallenge } from '../src/protocol/rtsp/auth';
import { RtspStreamParser } from '../src/protocol/rtsp/message';
import { RTSPS_PATH, RTSPS_USER } from '../src/protocol/rtsp/printer-path';
import { startChild } from './lib/procs';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 30);
const DROP_S = Number(process.env.SOAK_DROP_S ?? 120);
const MAX_ACTIVE = Number(process.env.SOAK_ACTIVE ?? 40);
const OPEN_MS = Number(process.env.SOAK_OPEN_MS ?? 250);
const ABUSE_S = Number(process.env.SOAK_ABUSE_S ?? 60);
const IDLE_MIN = Number(process.env.SOAK_IDLE_MIN ?? 5);
/**
 * After the last viewer closed: the transcoders' idle stop (`idle_stop_s`, 10 s) and ffmpeg's staged
 * stop, with a wide margin.
 */
const SETTLE_MS = 90_000;

type Kind = 'snapshot' | 'mjpeg' | 'hls' | 'rtsp' | 'native' | 'rtsps';
const KINDS: Kind[] = ['snapshot', 'mjpeg', 'hls', 'rtsp', 'native', 'rtsps'];

interface Ports {
  http: number;
  rtsp: number;
  native: Record<string, number>;
  rtsps: Record<string, number>;
}
interface GatewayStats {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  handles: Record<string, number>;
  fds: number;
  ffmpeg: number;
  ffmpegArgs: string[];
}

const totals = {
  opened: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>,
  failed: Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<Kind, number>,
  pictures: 0,
  outOfOrder: 0,
  outOfOrderWhere: [] as string[],
  /** Why viewers failed, counted by reason. */
  why: new Map<string, number>(),
};
/** Set when the soak closes every viewer at the end: what that interrupts is not a failure. */
let stopping = false;
function failed(kind: Kind, why: string): void {
  if (stopping) return;
  totals.failed[kind]++;
  const key = `${kind}: ${why}`;
  totals.why.set(key, (totals.why.get(key) ?? 0) + 1);
}
const TAG = /bambucam-sim seq=(\d+)/;

/** Pictures must not go back: simulator sequence numbers (non-decreasing: MJPEG repeats the last one). */
class OrderCheck {
  private last = -1;
  constructor(
    private readonly where: string,
    private readonly strict: boolean,
  ) {}
  jpeg(jpeg: Buffer): void {
    totals.pictures++;
    const m = TAG.exec(jpeg.subarray(0, 200).toString('latin1'));
    if (!m) return; // the X1's pictures come from the decoder: no tag
    const seq = Number(m[1]);
    if (seq < this.last || (this.strict && seq === this.last)) this.bad(`${this.last} then ${seq}`);
    this.last = seq;
  }
  bad(what: string): void {
    totals.outOfOrder++;
    if (totals.outOfOrderWhere.length < 20) totals.outOfOrderWhere.push(`${this.where}: ${what}`);
  }
}

interface Viewer {
  close(): void;
}

function snapshot(ports: Ports, printer: string, done: () => void): Viewer {
  const width = Math.random() < 0.3 ? `?width=${[160, 320, 640][Math.floor(Math.random() * 3)]}` : '';
  const req = request(`http://127.0.0.1:${ports.http}/printers/${printer}/snapshot.jpg${width}`, (res) => {
    res.resume();
    res.on('end', () => {
      // The wrong-code printer has no picture: 503 is its right answer.
      if (res.statusCode === 200) totals.pictures++;
      else if (!(res.statusCode === 503 && printer === 'soak-wrong'))
        failed('snapshot', `${printer}${width} answered ${res.statusCode}`);
      done();
    });
  });
  const t0 = Date.now();
  req.on('error', (err) => {
    failed('snapshot', `${printer}${width}: ${err.message} after ${Math.round((Date.now() - t0) / 1000)} s`);
    done();
  });
  req.end();
  return { close: () => req.destroy() };
}

function mjpeg(ports: Ports, printer: string): Viewer {
  const order = new OrderCheck(`mjpeg ${printer}`, false);
  let buf: Buffer = Buffer.alloc(0);
  const req = request(`http://127.0.0.1:${ports.http}/printers/${printer}/stream.mjpeg`, (res) => {
    res.on('data', (c: Buffer) => {
      buf = buf.length ? Buffer.concat([buf, c]) : c;
      for (;;) {
        const head = buf.indexOf('\r\n\r\n');
        if (head < 0) break;
        const m = /Content-Length: (\d+)/i.exec(buf.subarray(0, head).toString('latin1'));
        if (!m) {
          buf = buf.subarray(head + 4); // the response's first boundary line
          continue;
        }
        const len = Number(m[1]);
        if (buf.length < head + 4 + len) break;
        order.jpeg(buf.subarray(head + 4, head + 4 + len));
        buf = buf.subarray(head + 4 + len);
      }
    });
    res.on('error', () => {});
  });
  req.on('error', (err) => failed('mjpeg', err.message));
  req.end();
  return { close: () => req.destroy() };
}

function hls(ports: Ports, printer: string): Viewer {
  let closed = false;
  let lastSeq = -1;
  let lastSegment = '';
  const base = `http://127.0.0.1:${ports.http}/printers/${printer}/hls/`;
  const get = (url: string): Promise<{ status: number; body: Buffer }> =>
    new Promise((resolve) => {
      const req = request(url, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
      });
      req.on('error', () => resolve({ status: 0, body: Buffer.alloc(0) }));
      req.end();
    });
  const order = new OrderCheck(`hls ${printer}`, false);
  const loop = async () => {
    while (!closed) {
      const p = await get(`${base}index.m3u8`);
      if (p.status === 200) {
        const text = p.body.toString();
        const seq = Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text)?.[1] ?? -1);
        if (seq < lastSeq) order.bad(`media sequence ${lastSeq} then ${seq}`);
        lastSeq = seq;
        const segs = text.split('\n').filter((l) => /^seg\d+\.ts$/.test(l));
        const newest = segs.at(-1);
        if (newest && newest !== lastSegment) {
          lastSegment = newest;
          const s = await get(base + newest);
          if (s.status === 200 && s.body[0] === 0x47) totals.pictures++;
          else if (s.status !== 404) failed('hls', `segment answered ${s.status}`);
        }
      } else if (p.status !== 503) failed('hls', `playlist answered ${p.status}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  void loop();
  return {
    close: () => {
      closed = true;
    },
  };
}

/** RTSP(S) DESCRIBE/SETUP/PLAY with Digest when asked, then RTP sequence numbers checked. */
function rtsp(
  port: number,
  uri: string,
  tls: boolean,
  creds: { user: string; pass: string } | null,
  kind: Kind,
): Viewer {
  const where = `${kind} ${uri}`;
  const order = new OrderCheck(where, true);
  const raw = new Socket().connect(port, '127.0.0.1');
  raw.on('error', () => {});
  const sock: Socket = tls ? tlsConnect({ socket: raw, rejectUnauthorized: false }) : raw;
  sock.on('error', () => {});
  const parser = new RtspStreamParser();
  let cseq = 0;
  let auth: string | null = null;
  let lastSeq = -1;
  let lastTs = -1;
  let step: 'describe' | 'setup' | 'play' | 'playing' = 'describe';
  const send = (method: string, url: string, headers: Record<string, string> = {}) => {
    const lines = [`${method} ${url} RTSP/1.0`, `CSeq: ${++cseq}`];
    if (auth && creds) {
      const challenge = parseChallenge(auth);
      if (challenge)
        lines.push(
          `Authorization: ${digestAuthorization({ username: creds.user, password: creds.pass, method, uri: url, challenge })}`,
        );
    }
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    sock.write(`${lines.join('\r\n')}\r\n\r\n`);
  };
  let session = '';
  let text = '';
  sock.on('data', (d: Buffer) => {
    if (step !== 'playing') text += d.toString('latin1');
    let msgs: ReturnType<RtspStreamParser['push']>;
    try {
      msgs = parser.push(d);
    } catch (err) {
      failed(kind, (err as Error).message);
      sock.destroy();
      return;
    }
    for (const m of msgs) {
      if (m.kind === 'interleaved') {
        if (m.channel !== 0 || m.data.length < 12) continue;
        const seq = m.data.readUInt16BE(2);
        const ts = m.data.readUInt32BE(4);
        if (lastSeq >= 0) {
          const d16 = (seq - lastSeq) & 0xffff;
          if (d16 === 0 || d16 > 0x8000) order.bad(`RTP sequence ${lastSeq} then ${seq}`);
          if ((ts - lastTs) >>> 0 > 0x80000000) order.bad(`RTP timestamp ${lastTs} then ${ts}`);
        }
        if (m.data[1] & 0x80) totals.pictures++; // marker: the last packet of a picture
        lastSeq = seq;
        lastTs = ts;
        continue;
      }
      if (m.kind !== 'response') continue;
      if (m.status === 401 && !auth && creds) {
        auth = [...text.matchAll(/^WWW-Authenticate: (Digest .*)\r$/gim)].at(-1)?.[1] ?? null;
        send('DESCRIBE', uri, { Accept: 'application/sdp' });
        continue;
      }
      if (m.status !== 200) {
        // An encoder still starting answers 503: not a failure of the gateway.
        if (m.status !== 503) failed(kind, `${step} answered ${m.status}`);
        sock.destroy();
        return;
      }
      if (step === 'describe') {
        step = 'setup';
        send('SETUP', `${uri}/track1`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
      } else if (step === 'setup') {
        step = 'play';
        session = (m.headers.session ?? '').split(';')[0];
        send('PLAY', uri, { Session: session });
      } else if (step === 'play') {
        step = 'playing';
      }
    }
  });
  sock.once(tls ? 'secureConnect' : 'connect', () => send('DESCRIBE', uri, { Accept: 'application/sdp' }));
  return {
    close: () => {
      if (step === 'playing' && Math.random() < 0.5) send('TEARDOWN', uri, { Session: session });
      setTimeout(() => sock.destroy(), 50);
    },
  };
}

function native(ports: Ports, printer: string, code: string): Viewer {
  const order = new OrderCheck(`native ${printer}`, true);
  const sock = tlsConnect({ host: '127.0.0.1', port: ports.native[printer], rejectUnauthorized: false }, () =>
    sock.write(encodeAuthPacket(code)),
  );
  sock.on('error', () => {});
  let buf: Buffer = Buffer.alloc(0);
  sock.on('data', (c: Buffer) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c;
    while (buf.length >= 16) {
      const len = buf.readUInt32LE(0);
      if (buf.length < 16 + len) break;
      order.jpeg(buf.subarray(16, 16 + len));
      buf = buf.subarray(16 + len);
    }
  });
  return { close: () => sock.destroy() };
}

const CODES: Record<string, string> = {
  'soak-p1s': 'soakcode1',
  'soak-a1': 'soakcode2',
  'soak-wrong': 'soakcode3',
  'soak-x1c': 'soakcode4',
};

function open(kind: Kind, ports: Ports, done: () => void): Viewer {
  totals.opened[kind]++;
  const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];
  switch (kind) {
    case 'snapshot':
      return snapshot(ports, pick(['soak-p1s', 'soak-a1', 'soak-x1c', 'soak-wrong']), done);
    case 'mjpeg':
      return mjpeg(ports, pick(['soak-p1s', 'soak-a1', 'soak-x1c', 'soak-wrong']));
    case 'hls':
      return hls(ports, pick(['soak-p1s', 'soak-x1c']));
    case 'rtsp': {
      const printer = pick(['soak-p1s', 'soak-a1', 'soak-x1c']);
      return rtsp(ports.rtsp, `rtsp://127.0.0.1:${ports.rtsp}/${printer}`, false, null, kind);
    }
    case 'native': {
      const printer = pick(['soak-p1s', 'soak-a1']);
      return native(ports, printer, CODES[printer]);
    }
    case 'rtsps': {
      const port = ports.rtsps['soak-x1c'];
      return rtsp(
        port,
        `rtsps://127.0.0.1:${port}${RTSPS_PATH}`,
        true,
        { user: RTSPS_USER, pass: CODES['soak-x1c'] },
        kind,
      );
    }
  }
}

/**
 * What a stranger on the network does, for `seconds`: snapshots at 40 distinct sizes a second,
 * 256 idle sockets (from 127.0.0.2) and a wrong code every 100 ms (from 127.0.0.3) on a native
 * :6000 server, random bytes on RTSP. Counts the answers.
 */
async function abuse(ports: Ports, seconds: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  const count = (what: string) => {
    counts[what] = (counts[what] ?? 0) + 1;
  };
  const until = Date.now() + seconds * 1000;
  const sockets = new Set<Socket>();
  const nativePort = ports.native['soak-p1s'];
  const idle = () => {
    if (Date.now() > until) return;
    const s = new Socket();
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => {
      sockets.delete(s);
      setTimeout(idle, 50);
    });
    s.connect({ port: nativePort, host: '127.0.0.1', localAddress: '127.0.0.2' });
  };
  for (let i = 0; i < 256; i++) idle();
  const timers = [
    setInterval(() => {
      for (let i = 0; i < 40; i++) {
        const width = 100 + Math.floor(Math.random() * 3800);
        const height = 100 + Math.floor(Math.random() * 2100);
        const req = request(
          `http://127.0.0.1:${ports.http}/printers/soak-p1s/snapshot.jpg?width=${width}&height=${height}`,
          (res) => {
            count(`snapshot ${res.statusCode}`);
            res.resume();
          },
        );
        req.on('error', () => count('snapshot error'));
        req.setTimeout(10_000, () => req.destroy());
        req.end();
      }
    }, 1000),
    setInterval(() => {
      const raw = new Socket().connect({ port: nativePort, host: '127.0.0.1', localAddress: '127.0.0.3' });
      raw.on('error', () => {});
      const t = tlsConnect({ socket: raw, rejectUnauthorized: false }, () => {
        t.write(encodeAuthPacket('not-the-code'));
        count('wrong code sent');
      });
      t.on('error', () => {});
      setTimeout(() => t.destroy(), 5000).unref();
    }, 100),
    setInterval(() => {
      const s = new Socket().connect({ port: ports.rtsp, host: '127.0.0.1' });
      s.on('error', () => {});
      s.on('connect', () => {
        s.write(Buffer.from(Array.from({ length: 2048 }, () => Math.floor(Math.random() * 256))));
        s.end();
        count('rtsp garbage');
      });
    }, 100),
  ];
  await new Promise((r) => setTimeout(r, seconds * 1000));
  for (const t of timers) clearInterval(t);
  for (const s of sockets) s.destroy();
  return counts;
}

/** Child processes, killed if the soak fails half-way. */
const children: ChildProcess[] = [];

const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
const handleCount = (s: GatewayStats) => Object.values(s.handles).reduce((a, b) => a + b, 0);
function line(label: string, s: GatewayStats, active: number): string {
  const opened = Object.values(totals.opened).reduce((a, b) => a + b, 0);
  const failed = Object.values(totals.failed).reduce((a, b) => a + b, 0);
  return `| ${label} | ${mib(s.rss)} | ${mib(s.heapUsed)} | ${mib(s.external)} | ${handleCount(s)} | ${s.fds} | ${s.ffmpeg} | ${active} | ${opened} | ${failed} | ${totals.pictures} | ${totals.outOfOrder} |`;
}

async function main() {
  const ffmpeg = locateFfmpeg()?.path ?? 'ffmpeg';
  const fleet = startChild<{ entries: Record<string, unknown>[] }>(join(__dirname, 'lib', 'soak-fleet.js'), [
    ffmpeg,
  ]);
  children.push(fleet.proc);
  const { entries } = await fleet.ready;
  const dir = mkdtempSync(join(tmpdir(), 'bambucam-soak-'));
  const configFile = join(dir, 'soak.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      http: { port: 0, host: '127.0.0.1' },
      rtsp: { port: 0, host: '127.0.0.1' },
      data_dir: join(dir, 'data'),
      log: { level: 'warn' },
      printers: entries,
    }),
  );
  const gateway = startChild<Ports>(join(__dirname, 'lib', 'soak-gateway.js'), [configFile], {}, [
    '--expose-gc',
  ]);
  children.push(gateway.proc);
  const ports = await gateway.ready;
  const stats = () => gateway.request<GatewayStats>({ cmd: 'gc' });
  await new Promise((r) => setTimeout(r, 10_000)); // sources connected, start-up collections done
  const baseline = await stats();
  console.log(
    `\nSoak: ${MINUTES} min, a printer drops every ${DROP_S} s, at most ${MAX_ACTIVE} viewers, one opened every ${OPEN_MS} ms (node ${process.version})`,
  );
  console.log(
    '| minute | RSS MiB | heap MiB | external MiB | handles | fds | ffmpeg | viewers now | opened | failed | pictures | out of order |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  console.log(line('before', baseline, 0));

  const active = new Set<Viewer>();
  const start = Date.now();
  const end = start + MINUTES * 60_000;
  const opener = setInterval(() => {
    if (active.size >= MAX_ACTIVE || Date.now() > end) return;
    const kind = KINDS[Math.floor(Math.random() * KINDS.length)];
    let v: Viewer | null = null;
    const finish = () => {
      if (v && active.delete(v)) v.close();
    };
    v = open(kind, ports, finish);
    active.add(v);
    // A snapshot ends by itself (a printer without a picture answers 503 after 5 s).
    const life =
      kind === 'snapshot'
        ? 20_000
        : kind === 'hls'
          ? 8000 + Math.random() * 12_000
          : 2000 + Math.random() * 13_000;
    setTimeout(finish, life);
  }, OPEN_MS);
  const droppable = ['soak-p1s', 'soak-a1', 'soak-x1c'];
  let drops = 0;
  const dropper = setInterval(() => {
    const id = droppable[drops++ % droppable.length];
    fleet.proc.send({ cmd: 'drop', id });
  }, DROP_S * 1000);
  const samples: GatewayStats[] = [];
  for (let minute = 1; minute <= MINUTES; minute++) {
    await new Promise((r) => setTimeout(r, Math.max(0, start + minute * 60_000 - Date.now())));
    const s = await stats();
    samples.push(s);
    console.log(line(String(minute), s, active.size));
  }
  clearInterval(opener);
  clearInterval(dropper);
  stopping = true;
  for (const v of [...active]) v.close();
  active.clear();
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const after = await stats();
  console.log(line(`idle ${SETTLE_MS / 1000} s later`, after, 0));
  // What still runs or holds viewers, per printer (all should be idle now).
  const api = (await (await fetch(`http://127.0.0.1:${ports.http}/api/printers`)).json()) as {
    printers: { id: string; viewers: Record<string, number>; transcoder: { running?: boolean } | null }[];
  };
  for (const p of api.printers) {
    const busy = Object.entries(p.viewers).filter(([, n]) => n > 0);
    if (busy.length || p.transcoder?.running)
      console.log(
        `  still busy: ${p.id} viewers ${JSON.stringify(Object.fromEntries(busy))} transcoder ${JSON.stringify(p.transcoder)}`,
      );
  }

  // Abuse, then idle: does anything creep while nobody watches?
  if (ABUSE_S > 0) {
    const counts = await abuse(ports, ABUSE_S);
    console.log(`\nabuse for ${ABUSE_S} s: ${JSON.stringify(counts)}`);
    console.log(line(`after abuse`, await stats(), 0));
  }
  const idleSamples: GatewayStats[] = [];
  for (let minute = 1; minute <= IDLE_MIN; minute++) {
    await new Promise((r) => setTimeout(r, 60_000));
    const s = await stats();
    idleSamples.push(s);
    console.log(line(`idle +${minute} min`, s, 0));
  }

  const warm = samples[Math.min(1, samples.length - 1)];
  const growth = ((after.rss - warm.rss) / warm.rss) * 100;
  console.log(`\nopened per output: ${KINDS.map((k) => `${k} ${totals.opened[k]}`).join(', ')}`);
  console.log(`failed per output: ${KINDS.map((k) => `${k} ${totals.failed[k]}`).join(', ')}`);
  for (const [why, n] of totals.why) console.log(`  ${n} × ${why}`);
  console.log(
    `RSS after warm-up (minute ${Math.min(2, samples.length)}) ${mib(warm.rss)} MiB → idle ${mib(after.rss)} MiB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)} %); heap ${mib(warm.heapUsed)} → ${mib(after.heapUsed)} MiB`,
  );
  console.log(
    `fds ${baseline.fds} before → ${after.fds} idle; ffmpeg ${baseline.ffmpeg} → ${after.ffmpeg}; handles ${handleCount(baseline)} → ${handleCount(after)} (${JSON.stringify(after.handles)})`,
  );
  for (const a of after.ffmpegArgs) console.log(`  ffmpeg still running: ${a}`);
  if (idleSamples.length) {
    const last = idleSamples[idleSamples.length - 1];
    console.log(
      `after abuse and ${IDLE_MIN} min idle: RSS ${mib(after.rss)} → ${mib(last.rss)} MiB, heap ${mib(after.heapUsed)} → ${mib(last.heapUsed)} MiB, external ${mib(after.external)} → ${mib(last.external)} MiB, fds ${last.fds}, handles ${handleCount(last)}, ffmpeg ${last.ffmpeg}`,
    );
  }
  console.log(
    `pictures out of order: ${totals.outOfOrder}${totals.outOfOrderWhere.length ? ` (${totals.outOfOrderWhere.join('; ')})` : ''}`,
  );
  const upstream = await fleet.request<{
    chamber: Record<string, { tcpConnections: number; authAttempts: number }>;
  }>({ cmd: 'stats' });
  console.log(
    `wrong-code printer: ${upstream.chamber['soak-wrong'].authAttempts} auth attempts in ${MINUTES} min; upstream TCP connections: ${Object.entries(
      upstream.chamber,
    )
      .map(([id, s]) => `${id} ${s.tcpConnections}`)
      .join(', ')}`,
  );
  await gateway.stop();
  await fleet.stop();
  rmSync(dir, { recursive: true, force: true });
}

void main().catch((err) => {
  console.error(err);
  for (const c of children) c.kill('SIGKILL');
  process.exit(1);
});
