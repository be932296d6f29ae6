// Small numeric and formatting helpers shared by the benchmark scripts.

/** Linear-interpolated percentile (p in 0..100) of an ascending list; null when empty. */
export function percentileOfSorted(s, p) {
  if (!s.length) return null;
  const rank = (p / 100) * (s.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return s[lo] + (s[hi] - s[lo]) * (rank - lo);
}

/** Linear-interpolated percentile (p in 0..100) of an unsorted list; null when empty. */
export function percentile(values, p) {
  return percentileOfSorted([...values].sort((a, b) => a - b), p);
}

/** {n, p50, p95, p99, max, mean} of a list of numbers (milliseconds by convention), rounded. */
export function summarize(values, digits = 1) {
  const r = (v) => (v === null ? null : Number(v.toFixed(digits)));
  if (!values.length) return { n: 0, p50: null, p95: null, p99: null, max: null, mean: null };
  const s = [...values].sort((a, b) => a - b);
  return {
    n: values.length,
    p50: r(percentileOfSorted(s, 50)),
    p95: r(percentileOfSorted(s, 95)),
    p99: r(percentileOfSorted(s, 99)),
    max: r(s[s.length - 1]),
    mean: r(values.reduce((a, b) => a + b, 0) / values.length),
  };
}

/** A plain-text table: rows of cells (strings or numbers), first row is the header. */
export function table(rows) {
  const cells = rows.map((r) => r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join(
    '\n',
  );
}

export const fmt = (v, digits = 1) =>
  v === null || v === undefined || Number.isNaN(v) ? '-' : Number(v).toFixed(digits);

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapLimit(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
