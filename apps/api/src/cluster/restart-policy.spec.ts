import { DEFAULT_RESTART_POLICY, RestartPolicy } from './restart-policy';

describe('RestartPolicy', () => {
  const at = (t: { now: number }) => () => t.now;

  it('gives up after maxFailedStarts processes in a row exit before listening', () => {
    const p = new RestartPolicy(DEFAULT_RESTART_POLICY, at({ now: 0 }));
    expect([1, 2, 3, 4].map(() => p.exited(false))).toEqual([250, 500, 1000, 2000]);
    expect(p.failedStartsInARow).toBe(4);
    expect(p.exited(false)).toBeNull();
  });

  it('a process that listens ends the run of failed starts; exits after listening never give up', () => {
    const p = new RestartPolicy({ ...DEFAULT_RESTART_POLICY, maxFailedStarts: 2 }, at({ now: 0 }));
    expect(p.exited(false)).not.toBeNull();
    p.listening();
    expect(p.failedStartsInARow).toBe(0);
    expect(p.exited(false)).not.toBeNull();
    p.listening();
    for (let i = 0; i < 20; i++) expect(p.exited(true)).not.toBeNull();
    expect(p.exited(false)).not.toBeNull();
    expect(p.exited(false)).toBeNull();
  });

  it('the delay doubles with each exit within the window, up to the maximum, and falls back once they are older', () => {
    const t = { now: 0 };
    const p = new RestartPolicy(DEFAULT_RESTART_POLICY, at(t));
    const delays: (number | null)[] = [];
    for (let i = 0; i < 8; i++) {
      delays.push(p.exited(true));
      t.now += 1_000;
    }
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
    t.now += DEFAULT_RESTART_POLICY.windowMs;
    expect(p.exited(true)).toBe(250);
  });
});
