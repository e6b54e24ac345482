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

  /** The next sample of a watch on `socket`. */
  function nextSample(kernel: KernelQueues, socket: Socket): Promise<number | null> {
    return new Promise((resolve) => {
      const w = kernel.watch(socket, 50, (q) => {
        w.close();
        resolve(q);
      });
    });
  }

  test('reports bytes a paused peer has not taken, and none once it reads them; one read serves all', async () => {
    const kernel = new KernelQueues(undefined, 50);
    expect(await nextSample(kernel, accepted)).toBe(0);
    client.pause();
    const chunk = Buffer.alloc(256 * 1024, 7);
    for (let i = 0; i < 8; i++) accepted.write(chunk);
    await new Promise((r) => setTimeout(r, 100));
    const queued = await nextSample(kernel, accepted);
    // What the kernel holds is what the peer's receive window could not take.
    expect(queued).toBeGreaterThan(100_000);
    expect(queued).toBeLessThanOrEqual(8 * chunk.length);
    let got = 0;
    client.on('data', (d: Buffer) => {
      got += d.length;
    });
    client.resume();
    while (got < 8 * chunk.length) await new Promise((r) => setTimeout(r, 20));
    expect(await nextSample(kernel, accepted)).toBe(0);
    // Fifty watches share each read of the files.
    const before = kernel.reads;
    await Promise.all(Array.from({ length: 50 }, () => nextSample(kernel, accepted)));
    expect(kernel.reads - before).toBe(1);
  });

  test('null without /proc (other systems); no reads for sockets it cannot name', async () => {
    const none = new KernelQueues({ tcp4: '/nonexistent/tcp', tcp6: '/nonexistent/tcp6' }, 50);
    expect(await nextSample(none, accepted)).toBeNull();
    expect(none.available).toBe(false);
    const kernel = new KernelQueues(undefined, 50);
    const w = kernel.watch(new Socket(), 50, () => {
      throw new Error('no sample for an unconnected socket');
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(kernel.reads).toBe(0);
    w.close();
  });
});
