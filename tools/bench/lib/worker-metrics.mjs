// Scrapes of a worker's Prometheus /metrics: RSS, V8 memory and the stage histograms.

/** The process's resident memory (process_resident_memory_bytes), MiB; null when unreachable. */
export async function scrapeRssMiB(url) {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const m = /^\w*process_resident_memory_bytes(?:\{[^}]*\})?\s+([\d.e+]+)/m.exec(text);
    return m ? Number(m[1]) / 2 ** 20 : null;
  } catch {
    return null;
  }
}

/** The worker's own memory gauges (prom-client default metrics), MiB: heap used/total, external. */
export async function scrapeHeapMiB(url) {
  try {
    const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const get = (name) => {
      const m = new RegExp(`^\\w*${name}(?:\\{[^}]*\\})?\\s+([\\d.e+]+)`, 'm').exec(text);
      return m ? Number(m[1]) / 2 ** 20 : null;
    };
    return {
      heap_used: get('nodejs_heap_size_used_bytes'),
      heap_total: get('nodejs_heap_size_total_bytes'),
      external: get('nodejs_external_memory_bytes'),
    };
  } catch {
    return null;
  }
}

/** Stage histograms of the workers' /metrics (sum and count per stage): a cross-check of the events table. */
export async function scrapeStageMetrics(urls) {
  const out = {};
  for (const url of urls) {
    let text = '';
    try {
      text = await (await fetch(`${url}/metrics`)).text();
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const m = /^(ingest_stage_(?:pickup|duration)_seconds)_(sum|count)\{([^}]*)\}\s+([\d.e+-]+)/.exec(line);
      if (!m) continue;
      const stage = /stage="([^"]+)"/.exec(m[3])?.[1] ?? '?';
      const key = `${m[1]}|${stage}`;
      out[key] ??= { metric: m[1], stage, sum: 0, count: 0 };
      out[key][m[2]] += Number(m[4]);
    }
  }
  return Object.values(out).map((v) => ({
    ...v,
    mean_ms: v.count ? Number(((1000 * v.sum) / v.count).toFixed(2)) : null,
  }));
}
