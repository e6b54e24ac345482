/** KernelQueues against this machine's /proc/net/tcp with real loopback sockets (Linux). */
import { createServer, type Server, Socket } from 'node:net';
import { KernelQueues } from '../../src/serve/pacing/kernel-queues';

describe('KernelQueues on this machine', () => {
  let server: Server;
  let accepted: Socket;
  let client: Socket;
  beforeEach(async () => {
    const got = new Promise<Socket>((resolve) => {
      server = createServer(resolve);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    client = new Socket().connect((server.address() as { port: number }).port, '127.0.0.1');
    accepted = await got;
  });
  afterEach(async () => {
    client.destroy();
    accepted.destroy();
    await new Promise((r) => server.close(r));
  });

  test('reports bytes a paused peer has not taken, and none once it reads them', async () => {
    const kernel = new KernelQueues();
    expect(await kernel.queued(accepted)).toBe(0);
    client.pause();
    const chunk = Buffer.alloc(256 * 1024, 7);
    for (let i = 0; i < 8; i++) accepted.write(chunk);
    await new Promise((r) => setTimeout(r, 100));
    const queued = await kernel.queued(accepted);
    // What the kernel holds is what the peer's receive window could not take.
    expect(queued).toBeGreaterThan(100_000);
    expect(queued).toBeLessThanOrEqual(8 * chunk.length);
    let got = 0;
    client.on('data', (d: Buffer) => {
      got += d.length;
    });
    client.resume();
    while (got < 8 * chunk.length) await new Promise((r) => setTimeout(r, 20));
    expect(await kernel.queued(accepted)).toBe(0);
    // Many sockets asking at once share one read of the files.
    const before = kernel.reads;
    await Promise.all(Array.from({ length: 50 }, () => kernel.queued(accepted)));
    expect(kernel.reads - before).toBe(1);
  });

  test('routine checks wait for the census (one read a second for all), or ride along with an urgent read', async () => {
    const kernel = new KernelQueues(undefined, 100, 1000);
    await kernel.queued(accepted); // the first read
    const start = Date.now();
    const routine = Array.from({ length: 20 }, () => kernel.queued(accepted, false));
    const answers = await Promise.all(routine);
    expect(answers).toEqual(Array(20).fill(0));
    expect(Date.now() - start).toBeGreaterThanOrEqual(800);
    expect(kernel.reads).toBe(2);
    // An urgent request 100 ms after the last read answers the routine ones waiting with it.
    const waiting = kernel.queued(accepted, false);
    await new Promise((r) => setTimeout(r, 150));
    const t = Date.now();
    await Promise.all([kernel.queued(accepted, true), waiting]);
    expect(Date.now() - t).toBeLessThan(500);
    expect(kernel.reads).toBe(3);
  });

  test('answers null without /proc (other systems) and for sockets it does not know', async () => {
    const none = new KernelQueues({ v4: '/nonexistent/tcp', v6: '/nonexistent/tcp6' });
    expect(await none.queued(accepted)).toBeNull();
    expect(none.available).toBe(false);
    expect(await new KernelQueues().queued(new Socket())).toBeNull();
  });
});
