#!/usr/bin/env node
// Vectors into a real[] column, text against binary: a statement inserting 1 and 16 vectors (1,536 floats by default)
// as INSERT_VECTORS did (each vector printed '0.1,...' by v.join(','), split by string_to_array and cast) and as it
// does now (all of them in ONE binary real[] parameter, libs/database float4Array, sliced per row). Reports the
// client's CPU a statement (process.cpuUsage over the call, and the encoding alone) and the server's (the backend's
// /proc/<pid>/schedstat: PostgreSQL must run on this machine), and checks that both store the same float4 values.
//
//   node tools/bench/vector-params.mjs [--url postgres://postgres@127.0.0.1:5432/postgres] [--dims 1536] [--rounds 5] [--per-round 200]
//
// It creates a scratch database (vecbench_<pid>) through --url and drops it at the end.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';

const { values: a } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/postgres' },
    dims: { type: 'string', default: '1536' },
    rounds: { type: 'string', default: '5' },
    'per-round': { type: 'string', default: '200' },
  },
});
const DIMS = Number(a.dims);
const ROUNDS = Number(a.rounds);
const PER_ROUND = Number(a['per-round']);
const dbName = `vecbench_${process.pid}`;
const dbUrl = new URL(a.url);
dbUrl.pathname = `/${dbName}`;

const admin = new pg.Client({ connectionString: a.url });
await admin.connect();
await admin.query(`CREATE DATABASE ${dbName}`);
const c = new pg.Client({ connectionString: dbUrl.toString() });
await c.connect();
try {
  await c.query(`CREATE TABLE buf (chunk_id uuid NOT NULL, embed_model text NOT NULL, embed_version int NOT NULL, document_id uuid NOT NULL,
                 embedding real[] NOT NULL, PRIMARY KEY (chunk_id, embed_model, embed_version))`);
  const [{ pid }] = (await c.query('SELECT pg_backend_pid() AS pid')).rows;
  const serverNs = () => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);

  // float32-exact values, as the embedder's base64 decoding returns them
  const vec = () => Array.from({ length: DIMS }, () => Math.fround((Math.random() - 0.5) * 0.2));

  const encodeText = (vs) => vs.map((v) => v.join(','));
  // as libs/database float4Array
  const encodeBinary = (vs) => {
    let n = 0;
    for (const v of vs) n += v.length;
    const buf = Buffer.allocUnsafe(20 + 8 * n);
    const out = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    out.setInt32(0, 1); // dimensions
    out.setInt32(4, 0); // no nulls
    out.setInt32(8, 700); // float4
    out.setInt32(12, n);
    out.setInt32(16, 1); // lower bound
    let o = 20;
    for (const v of vs)
      for (let i = 0; i < v.length; i++) {
        out.setInt32(o, 4);
        out.setFloat32(o + 4, v[i]);
        o += 8;
      }
    return buf;
  };

  const TEXT = {
    name: 'ins_text',
    text: `INSERT INTO buf (chunk_id, embed_model, embed_version, document_id, embedding)
           SELECT id, $2, $3, $4, string_to_array(vec, ',')::real[] FROM unnest($1::uuid[], $5::text[]) AS t(id, vec)`,
    params: (ids, vs) => [ids, 'm', 1, ids[0], encodeText(vs)],
  };
  const BINARY = {
    name: 'ins_binary',
    text: `INSERT INTO buf (chunk_id, embed_model, embed_version, document_id, embedding)
           SELECT id, $2, $3, $4, ($5::real[])[(t.n - 1) * $6::int + 1 : t.n * $6::int]
           FROM unnest($1::uuid[]) WITH ORDINALITY AS t(id, n)`,
    params: (ids, vs) => [ids, 'm', 1, ids[0], encodeBinary(vs), DIMS],
  };

  // the stored values are exactly the float4 values sent
  for (const s of [TEXT, BINARY]) {
    const vs = [vec(), vec()];
    const ids = [randomUUID(), randomUUID()];
    await c.query({ name: s.name, text: s.text, values: s.params(ids, vs) });
    const { rows } = await c.query(`SELECT chunk_id, embedding::text AS e FROM buf WHERE chunk_id = ANY($1)`, [ids]);
    for (const r of rows) {
      const got = r.e.slice(1, -1).split(',').map(Number);
      const want = vs[ids.indexOf(r.chunk_id)];
      if (got.length !== want.length || got.some((x, i) => Math.fround(x) !== want[i])) throw new Error(`${s.name}: values differ`);
    }
    await c.query('TRUNCATE buf');
  }

  // other vectors each time: V8 caches the strings of numbers it printed recently
  const encodeOnly = (fn, pool, batch, reps) => {
    const t0 = process.cpuUsage();
    for (let i = 0; i < reps; i++) fn(Array.from({ length: batch }, (_, k) => pool[(i * batch + k) % pool.length]));
    const d = process.cpuUsage(t0);
    return (d.user + d.system) / reps / 1000;
  };

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const batch of [1, 16]) {
    const pool = Array.from({ length: 64 }, vec);
    const results = { text: [], binary: [] };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [label, s] of [['text', TEXT], ['binary', BINARY]]) {
        let client = 0;
        let server = 0;
        for (let k = 0; k < PER_ROUND; k++) {
          const vs = Array.from({ length: batch }, (_, i) => pool[(k * batch + i) % pool.length]);
          const ids = vs.map(() => randomUUID());
          const s0 = serverNs();
          const c0 = process.cpuUsage();
          await c.query({ name: s.name, text: s.text, values: s.params(ids, vs) });
          const cd = process.cpuUsage(c0);
          server += serverNs() - s0;
          client += cd.user + cd.system;
        }
        await c.query('TRUNCATE buf');
        results[label].push({ client: client / PER_ROUND / 1000, server: server / PER_ROUND / 1e6 });
      }
    }
    for (const [label, fn] of [['text', encodeText], ['binary', encodeBinary]]) {
      const r = results[label];
      console.log(
        `${batch} x ${DIMS}: ${label.padEnd(6)} client ${median(r.map((x) => x.client)).toFixed(3)} ms (encoding alone ${encodeOnly(fn, pool, batch, 200 / batch + 20).toFixed(3)} ms), ` +
          `server ${median(r.map((x) => x.server)).toFixed(3)} ms a statement (median of ${ROUNDS} rounds of ${PER_ROUND})`,
      );
    }
  }
} finally {
  await c.end();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.end();
}
