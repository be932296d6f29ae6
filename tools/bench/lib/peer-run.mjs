// One peer run of tools/bench/peer.mjs: lib/peer-llamaindex.mjs as a child process against the stack's mocks,
// its CPU (process.cpuUsage inside it, over the ingest only) and the mocks' CPU (/proc, over the same window).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSampler } from './machine.mjs';
import { steadyDocsPerMinute } from './throughput.mjs';

const CHILD = join(import.meta.dirname, 'peer-llamaindex.mjs');

/** Writes `docs` (Buffers) as `doc-00000.md`, ... into a new temporary directory; returns it. */
export function writeDocs(docs) {
  const dir = mkdtempSync(join(tmpdir(), 'ingest-bench-peer-docs-'));
  docs.forEach((d, i) => writeFileSync(join(dir, `doc-${String(i).padStart(5, '0')}.md`), d));
  return dir;
}

/**
 * Runs the peer once over the documents in `docsDir` with the stack's mocks (`stack.parser`, `stack.embedder`);
 * its stores go to a fresh directory, removed afterwards. Returns the figures in the shape ours has:
 * docs_per_minute, cpu ms a document per process, and the raw child report.
 */
export async function runPeer({ stack, docsDir, p, timeoutS, log }) {
  const storeDir = mkdtempSync(join(tmpdir(), 'ingest-bench-peer-store-'));
  mkdirSync(storeDir, { recursive: true });
  const cfg = {
    docsDir,
    storeDir,
    parserUrl: stack.parser.url,
    embedderUrl: `${stack.embedder.url}/v1`,
    dimensions: 1536,
    chunkSize: p.chunkSize,
    chunkOverlap: p.chunkOverlap,
    embedBatchSize: p.embedBatchSize,
    parseConcurrency: p.parseConcurrency,
    maxBatch: p.maxBatch,
    checkIntervalS: p.checkIntervalS,
  };
  const child = fork(CHILD, [JSON.stringify(cfg)], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
  let childLog = '';
  child.stdout.on('data', (b) => (childLog += b));
  child.stderr.on('data', (b) => (childLog += b));
  const exited = new Promise((res) => child.once('exit', (code, signal) => res({ code, signal })));
  const message = (type) =>
    new Promise((res, rej) => {
      const timer = setTimeout(() => rej(new Error(`peer: no '${type}' after ${timeoutS} s`)), timeoutS * 1000);
      child.on('message', (m) => {
        if (m?.type !== type) return;
        clearTimeout(timer);
        res(m);
      });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        rej(new Error(`peer exited (${code ?? signal}) before '${type}': ${childLog.slice(-2000)}`));
      });
    });
  try {
    await message('ready');
    const sampler = startSampler([
      { name: 'peer (LlamaIndex process)', pid: child.pid },
      { name: 'mock-llamaparse', pid: stack.parser.pid },
      { name: 'mock-openai', pid: stack.embedder.pid },
    ]);
    child.send({ type: 'go' });
    const r = await message('done');
    const usage = sampler.stop();
    await exited;
    const n = r.complete || 1;
    const msPerDoc = (name) => {
      const v = usage.cpu_percent_of_one_core[name];
      return v === null || v === undefined ? null : Number((((v / 100) * usage.window_s * 1000) / n).toFixed(1));
    };
    const cpu = {
      // the child's own count, over exactly the ingest (the /proc figure also has its exit)
      'peer (LlamaIndex process)': Number((r.cpu_ms / n).toFixed(1)),
      'mock-llamaparse': msPerDoc('mock-llamaparse'),
      'mock-openai': msPerDoc('mock-openai'),
    };
    log(
      `peer: ${r.complete}/${r.documents} documents, ${r.nodes} nodes in ${(r.wall_ms / 1000).toFixed(1)} s` +
        (r.failed ? `, ${r.failed} FAILED: ${r.errors.join('; ')}` : ''),
    );
    const steady = steadyDocsPerMinute([...r.done_at_ms].sort((a, b) => a - b));
    return {
      documents: r.documents,
      complete: r.complete,
      failed: r.failed,
      errors: r.errors,
      nodes: r.nodes,
      vectors_stored: r.vectors_stored,
      docstore_docs: r.docstore_docs,
      span_seconds: Number((r.wall_ms / 1000).toFixed(2)),
      docs_per_minute: r.wall_ms ? Number(((r.complete / r.wall_ms) * 60_000).toFixed(0)) : null,
      // not comparable: the peer's documents complete a pipeline.run (up to --peer-batch) at a time
      docs_per_minute_steady_10_90: null,
      docs_per_minute_steady_10_90_batched: steady === null ? null : Number(steady.toFixed(0)),
      cpu_ms_per_doc: cpu,
      peer_rss_mib_at_end: Number(r.rss_mib.toFixed(1)),
      machine_busy_percent_of_all_cores: usage.machine_busy_percent_of_all_cores,
      other_processes_percent_of_one_core: usage.other_processes_percent_of_one_core,
    };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(storeDir, { recursive: true, force: true });
  }
}
