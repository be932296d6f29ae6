// tools/bench/peer.mjs's report: what each side guarantees, the per-run figures, the medians and the table.
import { median } from './runs.mjs';
import { fmt, table } from './stats.mjs';

/** What each side guarantees, as run by the benchmark (stated, not measured). */
export const GUARANTEES = {
  ours: {
    durability:
      'every stage transition and every chunk/vector is a PostgreSQL commit (fsync=on, synchronous_commit=on, full_page_writes=on); the upload bytes and parsed markdown are in storage before the job moves on',
    dedup:
      'per user on the file sha256 (unique (user_id, file_sha256)); chunk ids are UUIDv5 of document, chunker, version and ordinal, written ON CONFLICT DO NOTHING, so a re-run writes nothing twice',
    retries:
      'errors classified transient/permanent; transient ones retried with exponential backoff and jitter (retry-after honoured), a circuit breaker per outside service, permanent ones dead-lettered with the reason',
    crash_recovery:
      'leases: a killed worker\'s jobs are claimed again when the lease expires and resume from their last committed stage; a lost parser webhook is recovered by polling',
  },
  peer: {
    durability:
      'SimpleDocumentStore and SimpleVectorStore persisted to a directory: each put rewrites the whole JSON file (fs.writeFile, no fsync, no atomic rename): a crash mid-write leaves a truncated file the store then refuses to load; a power loss can lose what the OS had not flushed',
    dedup:
      'DocStoreStrategy.UPSERTS on document id (= file name here) and content hash: an unchanged document is skipped on a re-run, a changed one replaced',
    retries:
      'what the clients do on their own: OpenAIEmbedding retries through the OpenAI SDK (maxRetries 10, timeout 60 s: backoff, retry-after honoured); LlamaParseReader retries polling and result reads (p-retry, 4 times), not the upload; a parse that still fails loses that document, an embedding request that still fails fails its whole pipeline.run (batch): no classification, no circuit breaker, no dead-letter',
    crash_recovery:
      'none: in-process, in-memory work. The upserts strategy writes a document to the docstore before it is split, embedded and its vectors stored, and IngestionPipeline.run never rolls that back: after a crash or a failed embedding in between, a re-run skips the document as already ingested and its vectors are never written',
  },
};

/** The figures compared, from one run of either side: docs/min and CPU ms a document (summed by group). */
export function figures(side) {
  const cpu = side.cpu_ms_per_doc;
  const sum = (pred) =>
    Number(
      Object.entries(cpu)
        .filter(([k, v]) => pred(k) && v !== null)
        .reduce((n, [, v]) => n + v, 0)
        .toFixed(1),
    );
  return {
    docs_per_minute: side.docs_per_minute,
    docs_per_minute_steady_10_90: side.docs_per_minute_steady_10_90,
    // the pipeline's own processes and the mocks; not the bench's upload client (reported apart for ours)
    cpu_ms_per_doc_total: sum((k) => !k.startsWith('bench')),
    cpu_ms_per_doc_pipeline: sum((k) => !k.startsWith('mock') && !k.startsWith('bench')),
    // of which: ours' worker(s), or the peer's process (the ingest itself)
    cpu_ms_per_doc_worker: sum((k) => k.startsWith('worker') || k.startsWith('peer')),
    cpu_ms_per_doc_api: cpu.api ?? null,
    cpu_ms_per_doc_postgres: cpu.postgres ?? null,
    cpu_ms_per_doc_mocks: sum((k) => k.startsWith('mock')),
    other_load_percent_of_one_core: side.other_processes_percent_of_one_core ?? null,
  };
}

/** Medians over the rounds of each side's figures and the median of the pairs' ratios (ours / peer). */
export function summarize(runs) {
  const keys = Object.keys(runs[0].ours.figures);
  return Object.fromEntries(
    keys.map((k) => {
      const ratio = median(runs.map((r) => (r.peer.figures[k] ? r.ours.figures[k] / r.peer.figures[k] : NaN)));
      return [
        k,
        {
          ours: median(runs.map((r) => r.ours.figures[k])),
          peer: median(runs.map((r) => r.peer.figures[k])),
          ratio_ours_over_peer: ratio === null ? null : Number(ratio.toFixed(3)),
        },
      ];
    }),
  );
}

const SHORT = {
  docs_per_minute: 'docs/min',
  docs_per_minute_steady_10_90: 'docs/min 10-90%',
  cpu_ms_per_doc_total: 'CPU ms/doc',
  cpu_ms_per_doc_pipeline: 'pipeline',
  cpu_ms_per_doc_worker: 'worker|peer',
  cpu_ms_per_doc_api: 'api',
  cpu_ms_per_doc_postgres: 'postgres',
  cpu_ms_per_doc_mocks: 'mocks',
  other_load_percent_of_one_core: 'other load %',
};

/** The printed report. */
export function formatPeerReport(result) {
  const keys = Object.keys(result.median);
  const rows = [];
  for (const r of result.runs)
    for (const side of r.order) rows.push([`${r.round} ${side}`, ...keys.map((k) => fmt(r[side].figures[k]))]);
  const g = (side) =>
    Object.entries(GUARANTEES[side])
      .map(([k, v]) => `  ${k}: ${v}`)
      .join('\n');
  const m = result.machine;
  return (
    `peer benchmark: ${result.settings.docs} ${result.settings.size} documents a run, ${result.runs.length} round(s), ` +
    `machine ${m.cpu_model} x${m.cores}, ${m.memory_mb} MB, node ${m.node}\n` +
    `ours: api + ${result.settings.workers} worker(s) (concurrency ${result.settings.concurrency}) + PostgreSQL ` +
    `(durable defaults) + mocks; CPU = api, workers, postgres, mocks (the bench's upload client apart)\n` +
    `peer: ${result.peer_pipeline.summary}; CPU = the peer process + mocks\n\n` +
    table([['run', ...keys.map((k) => SHORT[k] ?? k)], ...rows]) +
    `\n\nmedians and the median of the pairs' ratios (ours / peer; docs/min: higher is better, CPU: lower is better)\n` +
    table([
      ['figure', 'ours', 'peer', 'ours / peer'],
      ...keys.map((k) => [k, fmt(result.median[k].ours), fmt(result.median[k].peer), fmt(result.median[k].ratio_ours_over_peer, 3)]),
    ]) +
    `\nCPU ms/doc = pipeline (ours: api + workers + postgres; peer: its process) + mocks; other load: CPU of processes\n` +
    `outside the benchmark during the run (others' work on this machine), % of one core\n` +
    `\nwhat each side guarantees\nours:\n${g('ours')}\npeer:\n${g('peer')}\n` +
    (result.json ? `\nJSON: ${result.json}\n` : '')
  );
}
