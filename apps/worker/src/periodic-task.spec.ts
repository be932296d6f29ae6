import { PeriodicTask } from './periodic-task';

describe('PeriodicTask', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs one interval (plus at most 10 %) after start, never two runs at once, and stop waits for the one running', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    let finish: (() => void) | null = null;
    const task = new PeriodicTask(1_000, () => {
      runs++;
      running++;
      most = Math.max(most, running);
      return new Promise<void>((r) => (finish = () => (running--, r())));
    });
    expect(task.scheduled).toBe(false);
    task.start();
    expect(task.scheduled).toBe(true);
    await jest.advanceTimersByTimeAsync(999);
    expect(runs).toBe(0);
    await jest.advanceTimersByTimeAsync(101);
    expect(runs).toBe(1);
    await jest.advanceTimersByTimeAsync(5_000); // the run is still going: no second one
    expect(runs).toBe(1);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect([task.stopped, stopped]).toEqual([true, false]);
    (finish as unknown as () => void)();
    await stopping;
    await jest.advanceTimersByTimeAsync(5_000); // nothing after stop
    expect([runs, most, task.scheduled]).toEqual([1, 1, false]);
  });
});
