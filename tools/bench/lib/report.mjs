// The results: the JSON document (--json) and the printed report (stdout).
import { poisonLines } from './poison.mjs';
import { writeFileSync } from 'node:fs';
import { SIZES } from './client.mjs';
import { machineInfo } from './machine.mjs';
import { WORK_STAGES } from './pipeline-stages.mjs';
import { buildInfo } from './stack.mjs';
import { fmt, table } from './stats.mjs';

/** The results document as the run begins: the machine and the settings (`o`, and the stack's). */
export function newResults(o, target) {
  const { stack, apiUrl, logDir } = target;
  return {
    benchmark: 'ingest pipeline end-to-end',
    started_at: new Date().toISOString(),
    machine: machineInfo(),
    settings: {
      ...o,
      mode: stack ? 'own stack (embedded PostgreSQL, durable defaults)' : `running stack at ${apiUrl}`,
      doc_bytes_target: SIZES[o.size],
      postgres: stack ? { version: stack.serverVersion, ...stack.pgSettings } : null,
      app_log_dir: stack ? logDir : null,
      builds: stack ? buildInfo(o.appRoot) : null,
    },
  };
}

/** Writes the results to `file` as indented JSON. */
export function writeResultsJson(file, results) {
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
}

/** The printed report of the results `r`: the targets' table, the stage tables and the summary lines. */
export function formatReport(r) {
  const out = [...headerLines(r)];
  const t = r.throughput;
  if (t) {
    out.push('', 'targets (DESIGN.md):', table(targetRows(r)));
    out.push('', ...pipelineLines(r));
    out.push(...stageTables(t, r.idle_probe));
    out.push('', ...resourceLines(r));
  }
  if (r.poison_probe) out.push('', ...poisonLines(r.poison_probe));
  if (t?.pg_statements) out.push('', ...statementLines(t.pg_statements));
  if (r.search) out.push(searchLine(r.search));
  return `${out.join('\n')}\n`;
}

/** Machine, settings, PostgreSQL and the error, if any. */
function headerLines(r) {
  const out = [];
  const m = r.machine;
  out.push(
    `machine: ${m.cpu_model}, ${m.cores} cores, ${m.memory_mb} MiB, node ${m.node}, load ${m.loadavg_at_start.join(' ')}`,
  );
  const s = r.settings;
  out.push(
    `settings: ${s.docs} ${s.size} docs (~${s.doc_bytes_mean ?? s.doc_bytes_target} B), ${s.workers} worker(s) x concurrency ${s.concurrency}` +
      `, claim batch ${s.claimBatch ?? 'default'}, prefetch ${s.prefetch ?? 'default'}, latency ${s.latencyMs} ms, parser concurrency ${s.parserConcurrency}, uploads ${s.uploadConcurrency} at a time, log ${s.logLevel}` +
      `${s.sourceMaps ? ', with --enable-source-maps' : ''}${s.workerNodeArgs?.length ? `, worker node ${s.workerNodeArgs.join(' ')}` : ''}`,
  );
  if (s.postgres)
    out.push(
      `postgres ${s.postgres.version}: fsync=${s.postgres.fsync} synchronous_commit=${s.postgres.synchronous_commit} full_page_writes=${s.postgres.full_page_writes} shared_buffers=${s.postgres.shared_buffers}x8kB`,
    );
  if (r.error) out.push(`ERROR: ${r.error}`);
  return out;
}

/** The DESIGN.md targets: goal, measured, verdict. */
function targetRows(r) {
  const s = r.settings;
  const t = r.throughput;
  const idle = r.idle_probe;
  const rss = Object.values(t.worker_rss_mib);
  const rssMax = rss.length ? Math.max(...rss.map((x) => x.max)) : null;
  const pick = (x) => x?.p50 ?? null;
  const ok = (v, target, higher = false) =>
    v === null || v === undefined ? 'n/a' : (higher ? v >= target : v <= target) ? 'met' : 'MISSED';
  const rows = [['target', 'goal', 'measured', 'verdict']];
  rows.push([
    `throughput, docs/min (${t.span})`,
    '>= 3000',
    fmt(t.docs_per_minute, 0),
    s.workers === 1 && s.size === 'small' && !s.latencyMs
      ? ok(t.docs_per_minute, 3000, true)
      : 'n/a (not 1 worker/small/0 ms)',
  ]);
  rows.push(['  steady state (10%..90% of completions)', '', fmt(t.docs_per_minute_steady_10_90, 0), '']);
  const idlePick = idle
    ? Math.max(
        ...Object.values(idle.pickup_ms)
          .map(pick)
          .filter((v) => v !== null),
      )
    : null;
  rows.push(['stage pickup p50, ms (idle, worst stage)', '<= 25', fmt(idlePick, 1), ok(idlePick, 25)]);
  rows.push([
    'confirm -> complete p50, ms (idle, one page)',
    '<= 1000',
    fmt(idle?.confirm_to_complete_ms.p50, 0),
    s.size === 'small' ? ok(idle?.confirm_to_complete_ms.p50, 1000) : 'n/a',
  ]);
  rows.push([
    "confirm -> complete p50, ms (under the run's backlog)",
    '',
    fmt(t.confirm_to_complete_ms.p50, 0),
    '',
  ]);
  // DESIGN.md says 150 MB: 150e6 bytes = 143.05 MiB (the RSS is measured in MiB)
  rows.push([
    'worker RSS max, MiB (150 MB = 143.05 MiB)',
    '<= 143.05',
    fmt(rssMax, 1),
    ok(rssMax, 150e6 / 2 ** 20),
  ]);
  const sr = r.search;
  rows.push([
    'search top-10 p50, ms (pgvector)',
    '<= 50',
    sr?.measured
      ? sr.latency_ms.n
        ? `${fmt(sr.latency_ms.p50, 1)} (${sr.storage}, ${sr.chunks} chunks)`
        : `no answer in ${sr.first_query_ms} ms (${sr.storage}, ${sr.chunks} chunks)`
      : '-',
    sr?.measured
      ? sr.storage === 'pgvector'
        ? ok(sr.latency_ms.p50, 50)
        : 'n/a: no pgvector here (real[] exact scan)'
      : (sr?.reason ?? 'n/a'),
  ]);
  // issue #23: the CPU a document over what a deployment runs (api, workers, PostgreSQL), uploads included; small documents
  const pipelineCpu = pipelineCpuMsPerDoc(t.cpu);
  rows.push([
    'CPU ms a document, api + worker(s) + PostgreSQL (#23)',
    '<= 20',
    fmt(pipelineCpu, 1),
    pipelineCpu === null ? 'n/a' : s.size === 'small' && t.cpu.includes_uploads ? ok(pipelineCpu, 20) : 'n/a (small documents, uploads included)',
  ]);
  rows.push(['2 workers >= 1.9x 1 worker at 100 ms', '>= 1.9x', 'npm run bench:scale', '']);
  rows.push(['POST /api/v2/upload <= 0.5 ms of api CPU, p99 <= 50 ms', '', 'npm run bench:http', '']);
  return rows;
}

/** Jobs, uploads and confirm -> complete, under load and idle. */
function pipelineLines(r) {
  const t = r.throughput;
  const idle = r.idle_probe;
  const out = [
    `pipeline: ${t.complete}/${t.documents} complete, ${t.deadlettered} dead-lettered, ${t.retries} retries; uploads took ${t.upload_seconds} s ` +
      `(POST p50 ${fmt(t.upload_post_ms.p50)} ms p99 ${fmt(t.upload_post_ms.p99)} ms, PUT p50 ${fmt(t.upload_put_ms.p50)} ms p99 ${fmt(t.upload_put_ms.p99)} ms)`,
    `confirm -> complete under load: p50 ${fmt(t.confirm_to_complete_ms.p50, 0)} p95 ${fmt(t.confirm_to_complete_ms.p95, 0)} p99 ${fmt(t.confirm_to_complete_ms.p99, 0)} ms`,
  ];
  if (idle)
    out.push(
      `confirm -> complete idle:       p50 ${fmt(idle.confirm_to_complete_ms.p50, 0)} p95 ${fmt(idle.confirm_to_complete_ms.p95, 0)} p99 ${fmt(idle.confirm_to_complete_ms.p99, 0)} ms`,
    );
  return out;
}

/** Per-stage pickup, working and waiting times (under load, then idle), each table preceded by a blank line. */
function stageTables(t, idle) {
  const stages = [
    ...new Set([...Object.keys(t.pickup_ms), ...Object.keys(t.work_ms), ...Object.keys(t.wait_ms)]),
  ];
  // pipeline order (libs/state-machine's stages)
  stages.sort((x, y) => WORK_STAGES.indexOf(x) - WORK_STAGES.indexOf(y));
  const srow = (label, v) => [label, fmt(v?.p50, 1), fmt(v?.p95, 1), fmt(v?.p99, 1), v?.n ?? '-'];
  const st = [['per stage, ms (under load)', 'p50', 'p95', 'p99', 'n']];
  for (const stg of stages) {
    if (t.pickup_ms[stg]) st.push(srow(`${stg}: pickup (queued -> claimed)`, t.pickup_ms[stg]));
    if (t.work_ms[stg]) st.push(srow(`${stg}: working`, t.work_ms[stg]));
    if (t.wait_ms[stg]) st.push(srow(`${stg}: waiting (parser + webhook)`, t.wait_ms[stg]));
  }
  for (const [stg, v] of Object.entries(t.claim_span_ms))
    st.push(srow(`one claim from ${stg} (held by the worker)`, v));
  const out = ['', table(st)];
  if (idle) {
    const it = [['per stage, ms (idle probe)', 'p50', 'p95', 'p99', 'n']];
    for (const stg of stages) {
      if (idle.pickup_ms[stg]) it.push(srow(`${stg}: pickup`, idle.pickup_ms[stg]));
      if (idle.work_ms[stg]) it.push(srow(`${stg}: working`, idle.work_ms[stg]));
      if (idle.wait_ms[stg]) it.push(srow(`${stg}: waiting`, idle.wait_ms[stg]));
    }
    out.push('', table(it));
  }
  return out;
}

/** Database work, the commit probe, CPU, memory, claims and PostgreSQL backends. */
function resourceLines(r) {
  const s = r.settings;
  const t = r.throughput;
  const d = t.database;
  const out = [
    `database over the run (${d.window_s} s): ${d.commits_per_doc} commits/doc (${d.commits_per_s}/s) of which ${d.write_xacts_per_doc} write transactions/doc (${d.write_xacts_per_s}/s), ${d.wal_syncs_per_doc} WAL flushes/doc, ` +
      `${d.wal_records_per_doc} WAL records/doc, ${d.wal_kib_per_doc} KiB WAL/doc, ${d.rows_inserted_per_doc} rows inserted/doc, ${d.rows_updated_per_doc} updated/doc, ${t.transitions_per_doc} transitions/doc`,
  ];
  if (r.commit_probe) {
    out.push(
      `commit probe (${r.commit_probe.tool}): ${r.commit_probe.results.map((x) => `${x.clients} client(s) ${x.commits_per_s}/s`).join(', ')}; ` +
        `the pipeline's write transactions ran at ${fmt(100 * r.commit_probe.pipeline_share.pipeline_write_xacts_fraction_of_probe, 1)}% of the best; ` +
        `ceiling at that rate ${fmt(r.commit_probe.pipeline_share.docs_per_minute_ceiling_at_probe_rate, 0)} docs/min`,
    );
  }
  const cpu = Object.entries(t.cpu.percent_of_one_core)
    .map(([k, v]) => `${k} ${fmt(v, 0)}%`)
    .join(', ');
  const perDoc = Object.entries(t.cpu.ms_per_doc)
    .map(([k, v]) => `${k} ${fmt(v, 1)}`)
    .join(', ');
  out.push(
    `CPU ms per document${t.cpu.includes_uploads ? ' (uploads included)' : ' (processing only)'}: ${perDoc}`,
  );
  out.push(
    `CPU over ${t.cpu.window_s} s (% of one core): ${cpu}; machine busy ${t.cpu.machine_busy_percent_of_all_cores}% of all cores; other processes ${t.cpu.other_processes_percent_of_one_core}%`,
  );
  out.push(
    `worker RSS MiB: ${Object.entries(t.worker_rss_mib)
      .map(
        ([k, v]) =>
          `${k} max ${v.max} p50 ${v.p50} (idle before the run ${t.worker_rss_idle_before_mib[k] ?? '-'})`,
      )
      .join(', ')}`,
  );
  out.push(
    `claims: ${t.claims.transactions} claim transactions, ${t.claims.jobs_per_transaction} jobs each, gap between a worker's claims p50 ${fmt(t.claims.gap_between_claims_of_a_worker_ms.p50)} ms; mean jobs in hand ${t.claims.mean_jobs_in_hand} for ${s.workers * s.concurrency} slots (jobs claimed ahead included)`,
  );
  out.push(
    `PostgreSQL client backends by wait state (mean count): ${Object.entries(t.pg_backends_by_wait)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  out.push(
    `worker V8 memory MiB (max over 1 s scrapes of /metrics): ${
      Object.entries(t.worker_heap_mib)
        .map(
          ([k, v]) =>
            `${k} heap used ${v.heap_used_max} / total ${v.heap_total_max}, external ${v.external_max}`,
        )
        .join('; ') || '-'
    }`,
  );
  return out;
}

/** --pg-statements: the heading and the statements' table. */
function statementLines(ps) {
  return [
    `PostgreSQL statements by execution + planning time a document (pg_stat_statements; all: ${ps.exec_ms_per_doc_all} ms executing, ${ps.plan_ms_per_doc_all} ms planning a document)`,
    table([
      [
        'exec ms/doc',
        'plan ms/doc',
        'calls/doc',
        'plans/doc',
        'mean exec ms',
        'rows/doc',
        'WAL rec/doc',
        'statement',
      ],
      ...ps.statements.map((x) => [
        x.exec_ms_per_doc,
        x.plan_ms_per_doc,
        x.calls_per_doc,
        x.plans_per_doc,
        x.mean_ms,
        x.rows_per_doc,
        x.wal_records_per_doc,
        x.query.slice(0, 100),
      ]),
    ]),
  ];
}

/** The search phase's one line: its latencies, or why it was not measured. */
function searchLine(sr) {
  return sr.measured && !sr.latency_ms.n
    ? `search (${sr.storage}, ${sr.chunks} chunks): ${sr.note} (${sr.first_query_ms} ms)`
    : sr.measured
      ? `search (${sr.storage}, ${sr.chunks} chunks, top ${sr.top_k}): p50 ${fmt(sr.latency_ms.p50)} p95 ${fmt(sr.latency_ms.p95)} p99 ${fmt(sr.latency_ms.p99)} ms over ${sr.latency_ms.n} queries (query embedding alone p50 ${fmt(sr.query_embedding_ms.p50)} ms)`
      : `search: ${sr.reason}`;
}

/** CPU ms a document of the api, the workers and PostgreSQL (not the mocks, not the load generator); null when one is missing. */
export function pipelineCpuMsPerDoc(cpu) {
  const per = cpu?.ms_per_doc ?? {};
  const parts = Object.entries(per).filter(([k]) => k === 'api' || k === 'postgres' || k.startsWith('worker'));
  if (per.api === undefined || per.postgres === undefined || !parts.some(([k]) => k.startsWith('worker'))) return null;
  return parts.reduce((n, [, v]) => n + v, 0);
}
