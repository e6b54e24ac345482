/**
 * The supervisor's timing with jest's fake clock: stepped backoff, the long wait after a wrong code,
 * the reset after a good run, never two runs at once, and stop() during a wait or a run.
 */
import { rootLogger } from '../../src/log';
import { SourceStatus } from '../../src/source/status';
import {
  AuthError,
  DEFAULT_BACKOFF_MS,
  DEFAULT_LONG_BACKOFF_MS,
  LongBackoffError,
  Supervisor,
} from '../../src/source/supervisor';

/** One call of `run`: when it started, and how the test makes it end. */
interface Run {
  startedAt: number;
  signal: AbortSignal;
  /** The connection delivered data (what a source does when it is healthy). */
  connect(): void;
  end(): void;
  fail(err: Error): void;
  settled: boolean;
}

/**
 * A supervisor over a fake source. `plan` says how each run ends at once ('fail', 'auth', 'end',
 * 'good-end': connected then closed); past the plan, runs stay open until the test ends them or the
 * supervisor aborts them (then they end at once, as a source closing its socket does, unless
 * `slowClose`).
 */
function supervise(
  plan: ('fail' | 'auth' | 'liveview' | 'end' | 'good-end' | 'good-fail')[] = [],
  { slowClose = false } = {},
) {
  const status = new SourceStatus();
  const runs: Run[] = [];
  let open = 0;
  let mostOpen = 0;
  const supervisor = new Supervisor({
    log: rootLogger.child('test'),
    status,
    run: (signal) =>
      new Promise<void>((resolve, reject) => {
        open++;
        mostOpen = Math.max(mostOpen, open);
        const onAbort = () => run.end();
        const run: Run = {
          startedAt: Date.now(),
          signal,
          settled: false,
          connect: () => {
            status.lastConnectedAt = Date.now();
          },
          end: () => {
            if (run.settled) return;
            run.settled = true;
            signal.removeEventListener('abort', onAbort);
            open--;
            resolve();
          },
          fail: (err) => {
            if (run.settled) return;
            run.settled = true;
            signal.removeEventListener('abort', onAbort);
            open--;
            reject(err);
          },
        };
        runs.push(run);
        if (!slowClose) signal.addEventListener('abort', onAbort);
        const step = plan[runs.length - 1];
        if (step === 'good-end' || step === 'good-fail') run.connect();
        if (step === 'fail' || step === 'good-fail') run.fail(new Error('connection refused'));
        else if (step === 'auth') run.fail(new AuthError());
        else if (step === 'liveview')
          run.fail(new LongBackoffError('LAN Only Liveview is off', 'liveview_off'));
        else if (step === 'end' || step === 'good-end') run.end();
      }),
  });
  const gaps = () => runs.slice(1).map((r, i) => r.startedAt - runs[i].startedAt);
  return { status, runs, supervisor, gaps, mostOpen: () => mostOpen };
}

beforeEach(() => {
  jest.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
});
afterEach(() => {
  jest.useRealTimers();
});

describe('Supervisor backoff', () => {
  test('waits 1 s, 5 s, 10 s, then 60 s between failed runs, and the last step repeats', async () => {
    expect(DEFAULT_BACKOFF_MS).toEqual([1000, 5000, 10000, 60000]);
    const s = supervise(Array(7).fill('fail'));
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(1000 + 5000 + 10000 + 60000 + 60000 + 60000);
    expect(s.gaps()).toEqual([1000, 5000, 10000, 60000, 60000, 60000]);
    expect(s.status.state).toBe('offline');
    expect(s.status.lastError).toBe('connection refused');
    await s.supervisor.stop();
  });

  test('the next try is exactly one step after the run ended, not earlier', async () => {
    const s = supervise(['fail', 'fail']);
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(999);
    expect(s.runs).toHaveLength(1);
    expect(s.status.nextRetryAt).toBe(s.runs[0].startedAt + 1000);
    await jest.advanceTimersByTimeAsync(1);
    expect(s.runs).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(4999);
    expect(s.runs).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(s.runs).toHaveLength(3);
    await s.supervisor.stop();
  });

  test('a run that closes without delivering anything counts as a failure (the steps go on)', async () => {
    const s = supervise(['end', 'end', 'end']);
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(1000 + 5000);
    expect(s.gaps()).toEqual([1000, 5000]);
    expect(s.status.state).toBe('offline');
    expect(s.status.reason).toBe('connection closed by the printer');
    await s.supervisor.stop();
  });

  test('a wrong access code waits 30 s, 60 s, 120 s, then 300 s, and shows auth_failed', async () => {
    expect(DEFAULT_LONG_BACKOFF_MS).toEqual([30000, 60000, 120000, 300000]);
    const s = supervise(Array(6).fill('auth'));
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(29_999);
    expect(s.runs).toHaveLength(1);
    expect(s.status.state).toBe('auth_failed');
    expect(s.status.nextRetryAt).toBe(s.runs[0].startedAt + 30_000);
    await jest.advanceTimersByTimeAsync(1 + 60_000 + 120_000 + 300_000 + 300_000);
    expect(s.gaps()).toEqual([30_000, 60_000, 120_000, 300_000, 300_000]);
    expect(s.runs).toHaveLength(6);
    await s.supervisor.stop();
  });

  test('LAN Only Liveview off waits long too, with its own state', async () => {
    const s = supervise(['liveview', 'liveview']);
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(30_000);
    expect(s.gaps()).toEqual([30_000]);
    expect(s.status.state).toBe('liveview_off');
    await s.supervisor.stop();
  });

  test('long and short steps restart from their first when the kind of failure changes', async () => {
    const s = supervise(['auth', 'auth', 'fail', 'fail', 'auth', 'fail']);
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(30_000 + 60_000 + 1000 + 5000 + 30_000);
    expect(s.gaps()).toEqual([30_000, 60_000, 1000, 5000, 30_000]);
    await s.supervisor.stop();
  });

  test('a run that delivered data resets the steps, whether it then ended or failed', async () => {
    const s = supervise([
      'fail',
      'fail',
      'fail',
      'good-end',
      'fail',
      'fail',
      'good-fail',
      'fail',
      'auth',
      'good-fail',
    ]);
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(1000 + 5000 + 10000 + 1000 + 5000 + 10000 + 1000 + 5000 + 30_000);
    expect(s.gaps()).toEqual([1000, 5000, 10000, 1000, 5000, 10000, 1000, 5000, 30_000]);
    // The good run after a wrong code resets the long steps as well: its failure waits 1 s.
    await jest.advanceTimersByTimeAsync(999);
    expect(s.runs).toHaveLength(10);
    await jest.advanceTimersByTimeAsync(1);
    expect(s.runs).toHaveLength(11);
    await s.supervisor.stop();
  });

  test('never starts a run before the previous one has ended, however long it stays open', async () => {
    const s = supervise(['fail']);
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(1000);
    expect(s.runs).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(60 * 60_000);
    expect(s.runs).toHaveLength(2);
    s.runs[1].connect();
    s.runs[1].end();
    await jest.advanceTimersByTimeAsync(999);
    expect(s.runs).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(s.runs).toHaveLength(3);
    expect(s.mostOpen()).toBe(1);
    s.runs[2].end();
    await s.supervisor.stop();
  });

  test('start() twice keeps one loop', async () => {
    const s = supervise();
    s.supervisor.start();
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(s.runs).toHaveLength(1);
    s.runs[0].end();
    await s.supervisor.stop();
  });
});

describe('Supervisor stop', () => {
  test('stop() during a long wait returns at once and no run follows', async () => {
    const s = supervise(['auth']);
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(10_000);
    expect(s.status.state).toBe('auth_failed');
    let stopped = false;
    const stopping = s.supervisor.stop().then(() => {
      stopped = true;
    });
    // No timer needs to fire: the wait is woken up.
    await jest.advanceTimersByTimeAsync(0);
    await stopping;
    expect(stopped).toBe(true);
    expect(s.status.state).toBe('stopped');
    expect(s.supervisor.running).toBe(false);
    await jest.advanceTimersByTimeAsync(60 * 60_000);
    expect(s.runs).toHaveLength(1);
  });

  test('stop() during a run aborts its signal and resolves only once the run has ended', async () => {
    const s = supervise([], { slowClose: true });
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(0);
    const run = s.runs[0];
    let stopped = false;
    const stopping = s.supervisor.stop().then(() => {
      stopped = true;
    });
    expect(run.signal.aborted).toBe(true);
    await jest.advanceTimersByTimeAsync(5 * 60_000);
    expect(stopped).toBe(false);
    run.fail(new Error('aborted'));
    await stopping;
    expect(stopped).toBe(true);
    expect(s.status.state).toBe('stopped');
    // An error caused by the abort is not recorded as the source's failure.
    expect(s.status.lastError).toBeNull();
    await jest.advanceTimersByTimeAsync(60 * 60_000);
    expect(s.runs).toHaveLength(1);
  });

  test('it can be started again after stop()', async () => {
    const s = supervise(['fail']);
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(0);
    await s.supervisor.stop();
    s.supervisor.start();
    await jest.advanceTimersByTimeAsync(0);
    expect(s.runs).toHaveLength(2);
    expect(s.runs[1].signal.aborted).toBe(false);
    s.runs[1].end();
    await s.supervisor.stop();
  });
});
