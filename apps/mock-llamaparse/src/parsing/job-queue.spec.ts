import { JobQueue, QueueTask } from './job-queue';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('JobQueue', () => {
  it('never runs more than `concurrency` tasks at once and runs them in order', async () => {
    const queue = new JobQueue(2, 100);
    const gates = Array.from({ length: 5 }, deferred);
    const started: number[] = [];
    let running = 0;
    let peak = 0;
    gates.forEach((gate, i) =>
      queue.push({
        run: async () => {
          started.push(i);
          peak = Math.max(peak, ++running);
          await gate.promise;
          running--;
        },
        cancel: () => undefined,
      }),
    );
    await flush();
    expect(started).toEqual([0, 1]);
    expect(queue.running).toBe(2);
    expect(queue.pending).toBe(3);
    gates[1].resolve();
    await flush();
    expect(started).toEqual([0, 1, 2]);
    gates.forEach((g) => g.resolve());
    await flush();
    await flush();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(peak).toBe(2);
    expect(queue.running).toBe(0);
  });

  it('refuses tasks beyond the backlog limit and reports not accepting', async () => {
    const queue = new JobQueue(1, 2);
    const gate = deferred();
    const task = (): QueueTask => ({ run: () => gate.promise, cancel: () => undefined });
    expect(queue.push(task())).toBe(true); // runs
    await flush();
    expect(queue.push(task())).toBe(true);
    expect(queue.push(task())).toBe(true);
    expect(queue.accepting).toBe(false);
    expect(queue.push(task())).toBe(false);
    gate.resolve();
    await flush();
    expect(queue.accepting).toBe(true);
  });

  it('keeps going when a task rejects', async () => {
    const queue = new JobQueue(1, 10);
    const ran: string[] = [];
    queue.push({ run: () => Promise.reject(new Error('boom')), cancel: () => undefined });
    queue.push({ run: async () => void ran.push('second'), cancel: () => undefined });
    await flush();
    await flush();
    expect(ran).toEqual(['second']);
  });

  it('close() cancels waiting tasks, refuses new ones and waits for running ones', async () => {
    const queue = new JobQueue(1, 10);
    const gate = deferred();
    const events: string[] = [];
    queue.push({ run: async () => (await gate.promise, void events.push('ran 1')), cancel: () => events.push('canceled 1') });
    queue.push({ run: async () => void events.push('ran 2'), cancel: () => events.push('canceled 2') });
    await flush();
    const closed = queue.close(10_000);
    expect(events).toEqual(['canceled 2']);
    expect(queue.push({ run: async () => undefined, cancel: () => undefined })).toBe(false);
    expect(queue.accepting).toBe(false);
    gate.resolve();
    await closed;
    expect(events).toEqual(['canceled 2', 'ran 1']);
  });

  it('close() stops waiting after the grace period', async () => {
    const queue = new JobQueue(1, 10);
    queue.push({ run: () => new Promise<void>(() => undefined), cancel: () => undefined });
    await flush();
    await expect(queue.close(20)).resolves.toBeUndefined();
  });
});
