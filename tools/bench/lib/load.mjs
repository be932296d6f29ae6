// Load generation: the generated documents, the run's concurrent uploads and the idle probe's sequential ones.
import { SIZES, makeDocument, upload } from './client.mjs';
import { analyze, loadEvents, waitSettled } from './events.mjs';
import { mapLimit } from './stats.mjs';

/** `o.docs` unique markdown documents of `o.size` (Buffers). */
export function generateDocuments(o, runId, log) {
  log(`generating ${o.docs} ${o.size} documents`);
  return Array.from({ length: o.docs }, (_, i) => makeDocument(runId, i, SIZES[o.size]));
}

/** Mean size of `docs` in bytes, rounded. */
export const meanBytes = (docs) => Math.round(docs.reduce((n, d) => n + d.length, 0) / docs.length);

/**
 * Uploads `docs` (POST + PUT each), `concurrency` at a time. Returns the uploads (jobId, postMs, putMs), their job
 * ids, the time they took (s) and when they began (`t0`, performance.now()).
 */
export async function uploadAll({ apiUrl, token, docs, concurrency, runId, log }) {
  log(`uploading ${docs.length} documents (${concurrency} at a time)`);
  const t0 = performance.now();
  const uploads = await mapLimit(docs, concurrency, (bytes, i) =>
    upload(apiUrl, token, `bench-${runId}-${i}.md`, bytes),
  );
  const uploadS = (performance.now() - t0) / 1000;
  log(
    `uploaded in ${uploadS.toFixed(1)} s (${(docs.length / uploadS).toFixed(0)} docs/s); waiting for the pipeline`,
  );
  return { uploads, jobIds: uploads.map((u) => u.jobId), uploadS, t0 };
}

/**
 * The idle probe: `o.probeDocs` more documents, one at a time, each waited for: confirm -> complete and the stage
 * latencies without a backlog. `failed` when one was dead-lettered or timed out.
 */
export async function idleProbe({ o, apiUrl, token, db, runId, log }) {
  log(`latency probe: ${o.probeDocs} documents one at a time on the idle system`);
  const ids = [];
  let failed = false;
  for (let i = 0; i < o.probeDocs; i++) {
    const bytes = makeDocument(`${runId}-probe`, o.docs + i, SIZES[o.size]);
    const u = await upload(apiUrl, token, `bench-${runId}-probe-${i}.md`, bytes);
    ids.push(u.jobId);
    const s = await waitSettled(db.q, [u.jobId], 60);
    if (s.dead || s.timedOut) failed = true;
  }
  const p = analyze(await loadEvents(db.q, ids));
  return {
    summary: {
      documents: o.probeDocs,
      confirm_to_complete_ms: p.confirm_to_complete_ms,
      pickup_ms: p.pickup_ms,
      work_ms: p.work_ms,
      wait_ms: p.wait_ms,
      claim_span_ms: p.claim_span_ms,
    },
    failed,
  };
}
