#!/usr/bin/env node
// Search latency on real pgvector, in-process (PGlite + @electric-sql/pglite-pgvector), for machines whose
// PostgreSQL has no pgvector (this one's). It runs the api's own SQL: libs/search/src/lib/search-sql.ts is
// compiled with @swc/core at start, so what is timed is the statement SearchService sends (with its prelude:
// hnsw.ef_search, and hnsw.iterative_scan on pgvector >= 0.8), over the pgvector branch of the schema
// (vector(N), HNSW cosine index, the (user_id, embed_model, embed_version) index).
//
//   node tools/bench/search-pgvector.mjs [--chunks 100000] [--dims 1536] [--queries 50] [--json out.json]
//
// Vectors: --clusters topics, each chunk a unit vector near its topic's centre (like embeddings of texts
// on a few subjects); queries are fresh points near a random topic. Besides latency it reports recall@k
// against an exact scan (the same query with the index disabled), since a fast wrong answer is no answer.
// PGlite is single-threaded WASM, so these figures are an upper bound for a native PostgreSQL with pgvector.
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { transformFileSync } from '@swc/core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

const ROOT = resolve(import.meta.dirname, '../..');
const { values: a } = parseArgs({
  options: {
    chunks: { type: 'string', default: '100000' },
    dims: { type: 'string', default: '1536' },
    queries: { type: 'string', default: '50' },
    'top-k': { type: 'string', default: '10' },
    clusters: { type: 'string', default: '200' },
    'recall-queries': { type: 'string', default: '20' },
    seed: { type: 'string', default: '7' },
    'ef-search': { type: 'string', default: '100,200' },
    explain: { type: 'boolean', default: false },
    json: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (a.help) {
  console.log('usage: node tools/bench/search-pgvector.mjs [--chunks N] [--dims D] [--queries Q] [--top-k K] [--clusters C] [--recall-queries R] [--ef-search 100,200] [--json FILE]');
  process.exit(0);
}
const N = Number(a.chunks), D = Number(a.dims), Q = Number(a.queries), K = Number(a['top-k']), C = Number(a.clusters);
const log = (m) => console.error(`[search-pgvector ${new Date().toISOString().slice(11, 19)}] ${m}`);

// --- the api's SQL builder, compiled from source --------------------------------------------------------
const outDir = join(ROOT, 'tmp', 'bench');
mkdirSync(outDir, { recursive: true });
const compiled = join(outDir, 'search-sql.mjs');
writeFileSync(
  compiled,
  transformFileSync(join(ROOT, 'libs/search/src/lib/search-sql.ts'), {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
  }).code,
);
const { buildVectorSearchSql, toVectorLiteral } = await import(pathToFileURL(compiled).href);

// --- deterministic vectors ------------------------------------------------------------------------------
let s = Number(a.seed) >>> 0;
const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
const gauss = () => Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
const unit = (v) => {
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
};
const centres = Array.from({ length: C }, () => unit(Array.from({ length: D }, gauss)));
const near = (c, spread) => unit(c.map((x) => x + gauss() * spread));

const USER = '00000000-0000-4000-8000-000000000001';
const OTHER = '00000000-0000-4000-8000-000000000002';
const MODEL = 'text-embedding-3-small';

const pg = await PGlite.create({ extensions: { vector } });
await pg.exec('CREATE EXTENSION IF NOT EXISTS vector');
const [{ extversion }] = (await pg.query(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`)).rows;
const iterativeScan = (() => {
  const [maj, min] = String(extversion).split('.').map(Number);
  return maj > 0 || min >= 8;
})();
// The pgvector branch of the schema, as the migrations leave it (the columns search reads, its indexes).
await pg.exec(`
  CREATE SCHEMA upload_pipeline;
  CREATE TABLE upload_pipeline.documents (document_id uuid PRIMARY KEY, user_id uuid NOT NULL, filename text NOT NULL);
  CREATE TABLE upload_pipeline.document_chunks (
    chunk_id uuid NOT NULL, document_id uuid NOT NULL REFERENCES upload_pipeline.documents (document_id) ON DELETE CASCADE,
    user_id uuid NOT NULL, ord int NOT NULL, text text NOT NULL,
    embed_model text NOT NULL, embed_version int NOT NULL, embedding vector(${D}) NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
    PRIMARY KEY (chunk_id, embed_model, embed_version));
  CREATE INDEX document_chunks_user_idx ON upload_pipeline.document_chunks (user_id, embed_model, embed_version);
`);

log(`pgvector ${extversion} on PGlite; ${N} chunks x ${D} dimensions in ${C} topics`);
const docs = Math.ceil(N / 50);
await pg.query(
  `INSERT INTO upload_pipeline.documents SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(i), 12, '0'))::uuid,
     CASE WHEN i % 10 = 0 THEN $2::uuid ELSE $1::uuid END, 'doc-' || i || '.md' FROM generate_series(0, $3 - 1) i`,
  [USER, OTHER, docs],
);
const t0 = Date.now();
const BATCH = 500;
for (let i = 0; i < N; i += BATCH) {
  const n = Math.min(BATCH, N - i);
  const ids = [], vecs = [], docIds = [], texts = [];
  for (let j = i; j < i + n; j++) {
    const topic = j % C;
    ids.push(`00000000-0000-4000-a000-${j.toString(16).padStart(12, '0')}`);
    docIds.push(`00000000-0000-4000-9000-${Math.floor(j / 50).toString(16).padStart(12, '0')}`);
    vecs.push(toVectorLiteral(near(centres[topic], 0.04)));
    texts.push(`chunk ${j} about topic ${topic}`);
  }
  await pg.query(
    `INSERT INTO upload_pipeline.document_chunks (chunk_id, document_id, user_id, ord, text, embed_model, embed_version, embedding)
     SELECT c.id, c.doc, d.user_id, 0, c.t, $5, 1, c.v::vector
     FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[]) AS c(id, doc, v, t)
     JOIN upload_pipeline.documents d ON d.document_id = c.doc`,
    [ids, docIds, vecs, texts, MODEL],
  );
  if ((i / BATCH) % 40 === 0) log(`  ${i + n} rows`);
}
const loadS = (Date.now() - t0) / 1000;
log(`loaded in ${loadS.toFixed(1)} s; building the HNSW index (m=16, ef_construction=64, as the migration)`);
const t1 = Date.now();
await pg.exec(`SET maintenance_work_mem = '1GB'`);
await pg.exec(`CREATE INDEX document_chunks_embedding_hnsw ON upload_pipeline.document_chunks USING hnsw (embedding vector_cosine_ops)`);
await pg.exec('ANALYZE upload_pipeline.document_chunks');
const indexS = (Date.now() - t1) / 1000;
const [{ mine }] = (await pg.query(`SELECT count(*)::int AS mine FROM upload_pipeline.document_chunks WHERE user_id = $1`, [USER])).rows;
log(`index built in ${indexS.toFixed(1)} s; the searching user owns ${mine} of ${N} chunks`);

const run = (q, exact = false) =>
  pg.transaction(async (tx) => {
    for (const st of q.prelude) await tx.exec(st);
    if (exact) await tx.exec('SET LOCAL enable_indexscan = off');
    return (await tx.query(q.sql, q.params)).rows;
  });
// --ef-search 40,100,200: also time the query with these candidate-list sizes (set after the api's own
// prelude), to see what a larger list buys in recall and costs in latency. The api's default always runs.
const efList = [null, ...String(a['ef-search']).split(',').filter(Boolean).map(Number)];
const build = (v, ef) => {
  const q = buildVectorSearchSql('pgvector', { vector: v, userId: USER, embedModel: MODEL, embedVersion: 1, topK: K, iterativeScan });
  return ef ? { ...q, prelude: [...q.prelude, `SET LOCAL hnsw.ef_search = ${ef}`] } : q;
};
const queryVectors = Array.from({ length: Q }, () => near(centres[Math.floor(rand() * C)], 0.05));
const recallVectors = Array.from({ length: Number(a['recall-queries']) }, () => near(centres[Math.floor(rand() * C)], 0.05));
const exactIds = [];
for (const v of recallVectors) exactIds.push((await run(build(v, null), true)).map((r) => r.chunk_id));

const runs = [];
let usesIndex = null;
const planUsesIndex = new Map();
for (const ef of efList) {
  for (let i = 0; i < 3; i++) await run(build(near(centres[i], 0.05), ef)); // warm-up
  const times = [];
  for (const [i, v] of queryVectors.entries()) {
    const q = build(v, ef);
    const t = process.hrtime.bigint();
    const rows = await run(q);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
    if (rows.length !== K) throw new Error(`query ${i} returned ${rows.length} rows`);
    if (i === 0) {
      const plan = await pg.transaction(async (tx) => {
        for (const st of q.prelude) await tx.exec(st);
        return (await tx.query(`EXPLAIN ${q.sql}`, q.params)).rows.map((r) => r['QUERY PLAN']).join('\n');
      });
      const hnsw = /document_chunks_embedding_hnsw/.test(plan);
      if (usesIndex === null) usesIndex = hnsw;
      planUsesIndex.set(ef ?? 'api default', hnsw);
      if (a.explain) console.error(`plan (ef_search ${ef ?? 'api default'}):\n${plan}`);
    }
  }
  // recall@k against an exact scan of the same statement (index scans off)
  let hit = 0, total = 0;
  for (const [i, v] of recallVectors.entries()) {
    const approx = new Set((await run(build(v, ef))).map((r) => r.chunk_id));
    hit += exactIds[i].filter((id) => approx.has(id)).length;
    total += exactIds[i].length;
  }
  const sorted = [...times].sort((x, y) => x - y);
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  runs.push({ ef_search: ef ?? 'api default', plan_uses_hnsw: planUsesIndex.get(ef ?? 'api default'), latency_ms: { p50: pct(50), p95: pct(95), p99: pct(99), max: sorted.at(-1) }, recall_at_k: total ? hit / total : null });
}
await pg.close();

const api = runs[0];
const result = {
  benchmark: 'search top-k on pgvector (PGlite, in-process)',
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, mem_mib: Math.round(totalmem() / 2 ** 20), node: process.version },
  settings: { chunks: N, dims: D, top_k: K, queries: Q, clusters: C, pgvector: extversion, iterative_scan: iterativeScan },
  load_s: loadS,
  index_build_s: indexS,
  plan_uses_hnsw: usesIndex,
  latency_ms: api.latency_ms,
  recall_at_k: api.recall_at_k,
  by_ef_search: runs,
  target: { p50_ms: 50, met: api.latency_ms.p50 <= 50 },
};
console.log(`search top-${K} over ${N} chunks (${mine} of the searching user's) x ${D} dims, pgvector ${extversion} on PGlite`);
console.log(`  HNSW used: ${usesIndex}; load ${loadS.toFixed(1)} s; index build ${indexS.toFixed(1)} s`);
console.log(`  ef_search      p50 ms  p95 ms  p99 ms  recall@${K}  HNSW in plan`);
for (const r of runs)
  console.log(
    `  ${String(r.ef_search).padEnd(12)} ${r.latency_ms.p50.toFixed(1).padStart(7)} ${r.latency_ms.p95.toFixed(1).padStart(7)} ${r.latency_ms.p99.toFixed(1).padStart(7)}  ${(r.recall_at_k * 100).toFixed(1).padStart(8)} %  ${r.plan_uses_hnsw}`,
  );
console.log(`  target p50 <= 50 ms (the api's default): ${result.target.met ? 'met' : 'MISSED'}`);
if (a.json) writeFileSync(a.json, JSON.stringify(result, null, 2));
