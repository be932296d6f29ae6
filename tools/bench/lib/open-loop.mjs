// An open-loop load: requests sent at a constant rate whatever the answers, each one's latency counted from when it
// was due (not from when a connection was free to send it), so a slow answer shows in every request queued behind
// it (no coordinated omission).
//
// Why not autocannon's overallRate: autocannon gives each connection a budget of rate/connections requests a second
// and sends them back to back from the start of each second, then pauses until the next. At 1,000 req/s over 64
// connections that is a 64-connection closed loop for the first half of every second and nothing for the rest: its
// latencies are a closed loop's at 64 in flight, not the latency at 1,000 requests a second.
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { percentileOfSorted } from './stats.mjs';

/**
 * Sends `rate` requests a second for `durationS` seconds to `url` (`request(i)` gives the i-th one's method, path,
 * headers and body) over at most `connections` connections (a request due while all are busy waits for one, and that
 * wait counts in its latency). Returns the fields of an autocannon result that the scripts read: requests, latency
 * (ms: p50, p90, p99, max, mean), statusCodeStats, non2xx, errors, timeouts, plus `late_sends` (requests sent more
 * than 5 ms after they were due: the generator itself could not keep up, and the figures then say less).
 */
export async function openLoop({ url, rate, durationS, connections, request, timeoutMs = 10_000 }) {
  const pool = new Pool(url, { connections, pipelining: 1, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const interval = 1000 / rate;
  const total = Math.round(rate * durationS);
  const latency = new Float64Array(total);
  const statusCodeStats = {};
  let errors = 0;
  let timeouts = 0;
  let lateSends = 0;
  const pending = new Set();
  const start = performance.now();
  const send = (i) => {
    const due = start + i * interval;
    if (performance.now() - due > 5) lateSends++;
    const done = () => (latency[i] = performance.now() - due);
    const p = pool
      .request(request(i))
      .then(async (res) => {
        await res.body.dump();
        done();
        (statusCodeStats[res.statusCode] ??= { count: 0 }).count++;
      })
      .catch((e) => {
        done();
        if (e?.code === 'UND_ERR_HEADERS_TIMEOUT' || e?.code === 'UND_ERR_BODY_TIMEOUT') timeouts++;
        else errors++;
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };
  await new Promise((resolve) => {
    let sent = 0;
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - start) / interval) + 1);
      while (sent < due) send(sent++);
      if (sent >= total) return resolve();
      setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
    };
    tick();
  });
  while (pending.size) await Promise.all([...pending]);
  const elapsedS = (performance.now() - start) / 1000;
  await pool.close();
  const sorted = latency.slice().sort(); // a typed array sorts by value
  const r = (v) => Number(v.toFixed(1));
  let non2xx = 0;
  for (const [code, s] of Object.entries(statusCodeStats)) if (code < 200 || code > 299) non2xx += s.count;
  return {
    connections,
    duration: Number(elapsedS.toFixed(1)),
    requests: { total, average: total / elapsedS },
    latency: {
      p50: r(percentileOfSorted(sorted, 50)),
      p90: r(percentileOfSorted(sorted, 90)),
      p99: r(percentileOfSorted(sorted, 99)),
      max: r(sorted[total - 1]),
      mean: sorted.reduce((a, b) => a + b, 0) / total,
    },
    statusCodeStats,
    non2xx,
    errors,
    timeouts,
    late_sends: lateSends,
  };
}
