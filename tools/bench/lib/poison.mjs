// Phase 2b (--poison): hostile documents next to normal ones. One user uploads the poison set at once; right after,
// another user uploads --poison-normal normal documents one at a time. Reports each normal document's
// confirm -> complete beside each poison document's outcome (terminal state, last_error.code, time to settle).
// The poison set is the text-shaped part of libs/testing's hostile corpus, made here (the stack test there also
// covers a DOCX zip bomb and a 500-page PDF).
import { randomUUID } from 'node:crypto';
import { makeDocument, SIZES, signToken, upload } from './client.mjs';
import { analyze, loadEvents, waitSettled } from './events.mjs';

/** The poison documents: [name, mime, bytes]. */
export function poisonDocuments() {
  const b64 = 'QUJDRGVmZ2hJSktMbW5vcFFSU1R1dnd4WVo0MjAxOTg3Ng==';
  const longWord = b64.repeat(Math.ceil(200_000 / b64.length)).slice(0, 200_000);
  const image = `# Report\n\nBefore the image.\n\n![chart](data:image/png;base64,${b64.repeat(Math.ceil(300_000 / b64.length))})\n\nAfter the image.\n`;
  const nested = `<html><body>${'<div>'.repeat(5_000)}deep text${'</div>'.repeat(5_000)}</body></html>`;
  const rows = Array.from({ length: 20_000 }, (_, i) => `| ${i} | item ${i} | ${(i * 7) % 1000} |`).join('\n');
  const table = `# Big table\n\n| n | name | value |\n| --- | --- | --- |\n${rows}\n`;
  return [
    ['long-word.md', 'text/markdown', Buffer.from(`# One word\n\n${longWord}\n`)],
    ['inline-image.md', 'text/markdown', Buffer.from(image)],
    ['nested.html', 'text/html', Buffer.from(nested)],
    ['huge-table.md', 'text/markdown', Buffer.from(table)],
  ];
}

export async function poisonProbe({ o, apiUrl, jwtSecret, db, runId, log }) {
  const poisonToken = signToken(jwtSecret, randomUUID());
  const normalToken = signToken(jwtSecret, randomUUID());
  const docs = poisonDocuments();
  log(`poison probe: ${docs.length} hostile documents, then ${o.poisonNormal} normal ones one at a time beside them`);
  const started = Date.now();
  const poison = [];
  for (const [name, mime, bytes] of docs) {
    const u = await upload(apiUrl, poisonToken, `poison-${runId}-${name}`, bytes, mime);
    poison.push({ name, bytes: bytes.length, jobId: u.jobId });
  }
  const normal = [];
  let failed = false;
  for (let i = 0; i < o.poisonNormal; i++) {
    const bytes = makeDocument(`${runId}-beside-poison`, i, SIZES.small);
    const u = await upload(apiUrl, normalToken, `bench-${runId}-beside-poison-${i}.md`, bytes);
    normal.push(u.jobId);
    const s = await waitSettled(db.q, [u.jobId], 60);
    if (s.dead || s.timedOut) failed = true;
  }
  const settled = await waitSettled(db.q, poison.map((p) => p.jobId), 180);
  if (settled.timedOut) failed = true;
  const rows = await db.q(
    `SELECT job_id, stage, state, last_error->>'code' AS code,
            extract(epoch FROM coalesce(completed_at, updated_at) - created_at) * 1000 AS settle_ms
     FROM upload_pipeline.upload_jobs WHERE job_id = ANY($1::uuid[])`,
    [poison.map((p) => p.jobId)],
  );
  const byId = new Map(rows.map((r) => [r.job_id, r]));
  const p = analyze(await loadEvents(db.q, normal));
  return {
    summary: {
      normal_documents: normal.length,
      normal_confirm_to_complete_ms: p.confirm_to_complete_ms,
      poison: poison.map((d) => {
        const r = byId.get(d.jobId);
        return {
          document: d.name,
          bytes: d.bytes,
          outcome: r ? `${r.state === 'done' ? 'complete' : `${r.stage}/${r.state}`}${r.code ? ` (${r.code})` : ''}` : 'gone',
          settle_ms: r && (r.state === 'done' || r.state === 'deadletter') ? Math.round(Number(r.settle_ms)) : null,
        };
      }),
      wall_s: Math.round((Date.now() - started) / 100) / 10,
    },
    failed,
  };
}

/** The report's lines for the poison probe. */
export function poisonLines(pp) {
  const n = pp.normal_confirm_to_complete_ms;
  const f = (v) => (v === null || v === undefined ? 'n/a' : String(Math.round(v)));
  return [
    `beside poison documents: ${pp.normal_documents} normal documents, confirm -> complete p50 ${f(n.p50)} max ${f(n.max)} ms`,
    ...pp.poison.map((d) => `  poison ${d.document} (${d.bytes} bytes): ${d.outcome}${d.settle_ms === null ? ', not settled' : ` in ${d.settle_ms} ms`}`),
  ];
}
