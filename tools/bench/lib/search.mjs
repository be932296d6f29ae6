// Search latency: fill one user's document_chunks with `chunks` rows (texts made here, embedded by the
// stack's embedder exactly as the worker would), then time POST /api/v2/search {query, top_k: 10}.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { makeDocument } from './client.mjs';
import { summarize } from './stats.mjs';

const EMBED_BATCH = 1024;
const CHUNKS_PER_DOC = 1000;

/** Whether the api has the search route: 404 from the router means no. */
export async function searchAvailable(apiUrl, token) {
  const r = await fetch(`${apiUrl}/api/v2/search`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ query: 'availability probe', top_k: 10 }),
  });
  await r.arrayBuffer();
  return r.status !== 404 && r.status !== 405;
}

async function embed(embedderUrl, texts, model) {
  const r = await fetch(`${embedderUrl}/v1/embeddings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: 'Bearer bench' },
    body: JSON.stringify({ model, input: texts, encoding_format: 'base64' }),
  });
  const body = await r.json();
  if (r.status !== 200) throw new Error(`embeddings: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body.data.map((d) => {
    const b = Buffer.from(d.embedding, 'base64');
    return new Float32Array(b.buffer, b.byteOffset, b.length / 4);
  });
}

/** Short unique chunk texts: sentences of the generated documents. */
function chunkTexts(runId, count) {
  const out = [];
  for (let d = 0; out.length < count; d++) {
    const paras = makeDocument(`${runId}-search`, 100_000 + d, 24_000)
      .toString('utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    for (const p of paras) if (out.length < count) out.push(`${p} [${out.length}]`);
  }
  return out;
}

/**
 * @param {{db: import('pg').Client, apiUrl: string, embedderUrl: string, token: string, userId: string,
 *   chunks: number, queries: number, budgetS: number, timeoutS: number, runId: string, log: (m: string) => void}} o
 */
export async function searchBench(o) {
  const [{ value: settings }] = (
    await o.db.query(`SELECT value FROM upload_pipeline.schema_settings WHERE key = 'embedding'`)
  ).rows;
  const storage = settings.storage;
  const model = 'text-embedding-3-small';
  const texts = chunkTexts(o.runId, o.chunks);
  o.log(`search: filling ${o.chunks} chunks (${storage}) for one user`);
  const t0 = performance.now();
  const docIds = [];
  for (let i = 0; i < Math.ceil(o.chunks / CHUNKS_PER_DOC); i++) {
    const id = randomUUID();
    docIds.push(id);
    await o.db.query(
      `INSERT INTO upload_pipeline.documents (document_id, user_id, filename, mime, bytes_len, file_sha256, raw_path, processing_status, chunk_count)
       VALUES ($1, $2, $3, 'text/markdown', 1000, $4, $5, 'complete', $6)`,
      [id, o.userId, `search-bench-${i}.md`, randomBytes(32).toString('hex'), `bench/${id}`, CHUNKS_PER_DOC],
    );
  }
  for (let off = 0; off < texts.length; off += EMBED_BATCH) {
    const slice = texts.slice(off, off + EMBED_BATCH);
    const vecs = await embed(o.embedderUrl, slice, model);
    const lit = vecs.map((v) =>
      storage === 'pgvector' ? `[${Array.from(v).join(',')}]` : `{${Array.from(v).join(',')}}`,
    );
    const idx = slice.map((_, k) => off + k);
    await o.db.query(
      `INSERT INTO upload_pipeline.document_chunks
         (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count, embed_model, embed_version, embedding)
       SELECT gen_random_uuid(), d, $2, 'bench', 1, ord, t, sha, tok, $3, 1, e::${storage === 'pgvector' ? 'vector' : 'real[]'}
       FROM unnest($1::uuid[], $4::int[], $5::text[], $6::char(64)[], $7::int[], $8::text[]) AS x(d, ord, t, sha, tok, e)`,
      [
        idx.map((i) => docIds[Math.floor(i / CHUNKS_PER_DOC)]),
        o.userId,
        model,
        idx.map((i) => i % CHUNKS_PER_DOC),
        slice,
        slice.map((t) => createHash('sha256').update(t).digest('hex')),
        slice.map((t) => Math.ceil(t.split(' ').length * 1.3)),
        lit,
      ],
    );
    if ((off / EMBED_BATCH) % 20 === 0) o.log(`search: ${off + slice.length}/${texts.length} chunks`);
  }
  await o.db.query('ANALYZE upload_pipeline.document_chunks');
  const fillS = (performance.now() - t0) / 1000;

  const queries = chunkTexts(`${o.runId}-q`, o.queries + 2).map((t) => t.split('.').slice(0, 2).join('.'));
  const call = async (query) => {
    const s = performance.now();
    try {
      const r = await fetch(`${o.apiUrl}/api/v2/search`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${o.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify({ query, top_k: 10 }),
        signal: AbortSignal.timeout(o.timeoutS * 1000),
      });
      const body = await r.json();
      return { ms: performance.now() - s, status: r.status, results: body.results?.length ?? 0 };
    } catch (e) {
      return {
        ms: performance.now() - s,
        status: e.name === 'TimeoutError' ? 'client_timeout' : 'error',
        results: 0,
      };
    }
  };
  // warm-up (caches); a query that times out here is reported, and the rest is skipped
  const warm = await call(queries[0]);
  if (warm.status !== 200) {
    return {
      storage,
      chunks: o.chunks,
      fill_seconds: Number(fillS.toFixed(1)),
      top_k: 10,
      statuses: { [warm.status]: 1 },
      first_query_ms: Math.round(warm.ms),
      latency_ms: summarize([]),
      query_embedding_ms: summarize([]),
      note: `the first query did not answer within ${o.timeoutS} s`,
    };
  }
  await call(queries[1]);
  const http = [];
  const statuses = {};
  let results = 0;
  const until = performance.now() + o.budgetS * 1000;
  for (const q of queries.slice(2)) {
    const r = await call(q);
    statuses[r.status] = (statuses[r.status] ?? 0) + 1;
    if (r.status === 200) http.push(r.ms);
    results = r.results;
    if (performance.now() > until && http.length >= 3) break;
  }
  // the query embedding alone (the same call the api makes), to tell the database's share
  const embedMs = [];
  for (const q of queries.slice(2, 2 + Math.min(http.length, 20))) {
    const s = performance.now();
    await embed(o.embedderUrl, [q], model);
    embedMs.push(performance.now() - s);
  }
  return {
    storage,
    chunks: o.chunks,
    fill_seconds: Number(fillS.toFixed(1)),
    top_k: 10,
    statuses,
    last_result_count: results,
    latency_ms: summarize(http),
    query_embedding_ms: summarize(embedMs),
  };
}
