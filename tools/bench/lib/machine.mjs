// What the benchmark ran on, and per-process CPU / memory sampling from /proc (Linux).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  /* the usual value */
}

export function machineInfo() {
  const cpus = os.cpus();
  return {
    cpu_model: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memory_mb: Math.round(os.totalmem() / 2 ** 20),
    node: process.version,
    os: `${os.type()} ${os.release()}`,
    loadavg_at_start: os.loadavg().map((v) => Number(v.toFixed(2))),
  };
}

const read = (path) => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
};

/** Resident set size of a process in MiB (VmRSS), or null when it is gone. */
export function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(read(`/proc/${pid}/status`) ?? '');
  return m ? Number(m[1]) / 1024 : null;
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]; null when gone. */
function statFields(pid) {
  const s = read(`/proc/${pid}/stat`);
  if (!s) return null;
  return s.slice(s.lastIndexOf(')') + 2).split(' ');
}

/** CPU seconds (user + system) a process used so far; `withReaped` adds its waited-for children's. */
export function cpuSeconds(pid, withReaped = false) {
  const f = statFields(pid);
  if (!f) return null;
  // after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
  let ticks = Number(f[11]) + Number(f[12]);
  if (withReaped) ticks += Number(f[13]) + Number(f[14]);
  return ticks / clkTck;
}

/** Direct children of a process (pids). */
export function childrenOf(pid) {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(d);
    if (f && Number(f[1]) === pid) out.push(Number(d));
  }
  return out;
}

/** Descendants of a process (children, theirs, ...; pids), from one pass over /proc. */
export function descendantsOf(pid) {
  const kids = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const f = statFields(d);
    if (!f) continue;
    const parent = Number(f[1]);
    if (!kids.has(parent)) kids.set(parent, []);
    kids.get(parent).push(Number(d));
  }
  const out = [];
  const todo = [...(kids.get(pid) ?? [])];
  while (todo.length) {
    const c = todo.pop();
    out.push(c);
    todo.push(...(kids.get(c) ?? []));
  }
  return out;
}

/**
 * CPU seconds of a process tree (a cluster primary and its processes): each live member's own and its reaped
 * children's (a process that exited during a window is counted in its parent's), or null when `pid` is gone.
 */
export function treeCpuSeconds(pid) {
  const own = cpuSeconds(pid, true);
  if (own === null) return null;
  return descendantsOf(pid).reduce((a, c) => a + (cpuSeconds(c, true) ?? 0), own);
}

/** CPU seconds of a PostgreSQL server: the postmaster, its reaped backends and its live ones. */
export function postgresCpuSeconds(postmasterPid) {
  let total = cpuSeconds(postmasterPid, true) ?? 0;
  for (const c of childrenOf(postmasterPid)) total += cpuSeconds(c) ?? 0;
  return total;
}

export function postmasterPid(dataDir) {
  const f = `${dataDir}/postmaster.pid`;
  if (!existsSync(f)) return null;
  return Number(readFileSync(f, 'utf8').split('\n')[0]) || null;
}

/** Whole-machine CPU ticks: {busy, total} in seconds (busy excludes idle and iowait). */
export function machineCpu() {
  const line = (read('/proc/stat') ?? '').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const total = line.reduce((a, b) => a + b, 0);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  return { busy: (total - idle) / clkTck, total: total / clkTck };
}

/**
 * Samples, every `intervalMs`, the RSS of the given processes; and at start/stop their CPU seconds,
 * PostgreSQL's, this process's and the whole machine's, so CPU shares over the window can be reported.
 * A process with `tree: true` (the api with API_PROCESSES > 1) counts with its descendants: CPU and RSS summed.
 * @param {{name: string, pid: number, tree?: boolean}[]} procs
 * @param {{postmaster?: number|null, intervalMs?: number}} o
 */
export function startSampler(procs, o = {}) {
  const rss = new Map(procs.map((p) => [p.name, []]));
  // a tree's members, found again every 5th sample (a scan of /proc costs a few ms)
  const members = new Map();
  let ticks = 0;
  const membersOf = (p) => {
    if (!members.has(p.name) || ticks % 5 === 0) members.set(p.name, [p.pid, ...descendantsOf(p.pid)]);
    return members.get(p.name);
  };
  const rssOf = (p) => {
    if (!p.tree) return rssMiB(p.pid);
    const own = rssMiB(p.pid);
    return own === null ? null : membersOf(p).slice(1).reduce((a, c) => a + (rssMiB(c) ?? 0), own);
  };
  const cpuAt = () => ({
    procs: Object.fromEntries(procs.map((p) => [p.name, (p.tree ? treeCpuSeconds(p.pid) : cpuSeconds(p.pid)) ?? 0])),
    postgres: o.postmaster ? postgresCpuSeconds(o.postmaster) : null,
    self: process.cpuUsage(),
    machine: machineCpu(),
    wall: performance.now(),
  });
  const start = cpuAt();
  const timer = setInterval(() => {
    for (const p of procs) {
      const v = rssOf(p);
      if (v !== null) rss.get(p.name).push(v);
    }
    ticks++;
  }, o.intervalMs ?? 200);
  timer.unref();
  return {
    /** Stops sampling and returns RSS samples per process and CPU use per process over the window. */
    stop() {
      clearInterval(timer);
      const end = cpuAt();
      const wallS = (end.wall - start.wall) / 1000;
      const cores = os.cpus().length;
      const share = (sec) => (sec === null ? null : Number(((100 * sec) / wallS).toFixed(1)));
      const cpu = {};
      for (const p of procs) cpu[p.name] = share(end.procs[p.name] - start.procs[p.name]);
      if (o.postmaster) cpu.postgres = share(end.postgres - start.postgres);
      const selfS = (end.self.user - start.self.user + end.self.system - start.self.system) / 1e6;
      cpu['bench (this process)'] = share(selfS);
      const busy = end.machine.busy - start.machine.busy;
      const ours = Object.values(cpu).reduce((a, b) => a + (b ?? 0), 0);
      return {
        window_s: Number(wallS.toFixed(2)),
        rss_samples_mib: Object.fromEntries([...rss].map(([k, v]) => [k, v])),
        /** percent of one core over the window (100 = one core busy all the time) */
        cpu_percent_of_one_core: cpu,
        machine_busy_percent_of_all_cores: Number(((100 * busy) / (wallS * cores)).toFixed(1)),
        /** CPU the machine spent on processes that are not part of the benchmark (other users' work). */
        other_processes_percent_of_one_core: Number(Math.max(0, (100 * busy) / wallS - ours).toFixed(1)),
      };
    },
  };
}

/** One `top -b -n 1` snapshot (first lines), or null when top is missing. */
export function topSnapshot(lines = 22) {
  try {
    return execFileSync('top', ['-b', '-n', '1', '-w', '160'], { encoding: 'utf8', timeout: 5000 })
      .split('\n')
      .slice(0, lines)
      .join('\n');
  } catch {
    return null;
  }
}

/**
 * Waits (up to `maxS` seconds) for a 3-second window in which the whole machine is less than `busyPct`
 * busy, so a run does not start on top of someone else's build. Returns the last window's busy percent.
 */
export async function waitQuiet(maxS, busyPct, log) {
  const until = Date.now() + maxS * 1000;
  for (;;) {
    const a = machineCpu();
    await new Promise((r) => setTimeout(r, 3000));
    const b = machineCpu();
    const pct = (100 * (b.busy - a.busy)) / (b.total - a.total);
    if (pct < busyPct || Date.now() > until) {
      log?.(`machine ${pct.toFixed(0)}% busy${pct < busyPct ? '' : ' (still busy: starting anyway)'}`);
      return Number(pct.toFixed(1));
    }
    log?.(`machine ${pct.toFixed(0)}% busy: waiting for other work to finish`);
  }
}
