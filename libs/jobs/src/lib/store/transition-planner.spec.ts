import { planTransition, TransitionPlan } from './transition-planner';
import { renderTransition } from './transition.sql';
import { writeSql } from './stage-writes.sql';

const JOB = '10000000-0000-4000-8000-000000000001';
const advance = { type: 'advance', chain: true } as const;

describe('planTransition (pure)', () => {
  it('a claim-held advance: the job moves on, the lease is kept, retries reset, one event with the detail', () => {
    const plan = planTransition(JOB, { stage: 'chunking', state: 'working' }, [advance], { workerId: 'w', leaseMs: 5_000, detail: { chunks: 3 } });
    expect(plan?.job).toEqual({
      stage: 'chunks_stored',
      state: 'working',
      lease: { workerId: 'w', leaseMs: 5_000 },
      retryCount: { op: 'set', value: 0 },
      nextAttemptAt: null,
      completed: false,
    });
    expect(plan?.guard).toEqual({ stage: 'chunking', state: 'working', claimedBy: 'w' });
    expect(plan?.events).toEqual([
      { eventType: 'stage_done', stage: 'chunks_stored', fromStage: 'chunking', fromState: 'working', toState: 'working', detail: { chunks: 3 } },
    ]);
    expect(plan?.datedEvents).toBe(false);
    expect(plan?.actor).toBe('w');
    expect(plan?.document).toEqual({ processingStatus: 'processing', columns: {} });
  });

  it('steps through pass-through stages: one event each, in order, the detail on the first only', () => {
    const plan = planTransition(JOB, { stage: 'chunks_stored', state: 'working' }, [advance, advance], { workerId: 'w', leaseMs: 1, detail: { a: 1 } });
    expect(plan?.events.map((e) => [e.fromStage, e.stage, e.detail])).toEqual([
      ['chunks_stored', 'embedding_queued', { a: 1 }],
      ['embedding_queued', 'embedding_in_progress', null],
    ]);
    expect(plan?.job.stage).toBe('embedding_in_progress');
  });

  it('steps committed later are dated: each event its own detail and age (never negative)', () => {
    const plan = planTransition(JOB, { stage: 'parsing', state: 'working' }, [advance, advance], {
      workerId: 'w',
      leaseMs: 1,
      steps: [{ detail: { pages: 2 }, agoMs: 12 }, { agoMs: -3 }],
    });
    expect(plan?.datedEvents).toBe(true);
    expect(plan?.events.map((e) => [e.detail, e.agoMs])).toEqual([
      [{ pages: 2 }, 12],
      [null, 0],
    ]);
  });

  it('a transient failure: released, retry_count + 1, due at the given date, last_error set', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const err = { kind: 'transient' as const, code: 'http_503', message: 'down', stage: 'parsing' as const, at: at.toISOString(), attempts: 1 };
    const plan = planTransition(JOB, { stage: 'parse_queued', state: 'working' }, [{ type: 'fail_transient' }], { workerId: 'w', nextAttemptAt: at, lastError: err });
    expect(plan?.job).toMatchObject({ state: 'retryable', lease: null, retryCount: { op: 'add', value: 1 }, nextAttemptAt: at, lastError: err });
  });

  it('done: completed_at set, the document complete; deadletter: the document failed', () => {
    const done = planTransition(JOB, { stage: 'embeddings_stored', state: 'working' }, [advance], { workerId: 'w', leaseMs: 1 });
    expect(done?.job).toMatchObject({ stage: 'complete', state: 'done', completed: true });
    expect(done?.document.processingStatus).toBe('complete');
    const dead = planTransition(JOB, { stage: 'chunking', state: 'working' }, [{ type: 'fail_permanent' }], { workerId: 'w' });
    expect(dead?.document.processingStatus).toBe('failed');
  });

  it('document columns go with the plan; undefined ones are left out', () => {
    const plan = planTransition(JOB, { stage: 'parsing', state: 'working' }, [advance], {
      workerId: 'w',
      leaseMs: 1,
      document: { parsedPath: 'p', pageCount: undefined },
    });
    expect(plan?.document.columns).toEqual({ parsedPath: 'p' });
  });

  it('null for a step the state machine does not allow; throws on options that cannot go together', () => {
    expect(planTransition(JOB, { stage: 'complete', state: 'done' }, [advance])).toBeNull();
    expect(planTransition(JOB, { stage: 'chunking', state: 'working' }, [])).toBeNull();
    expect(() => planTransition(JOB, { stage: 'chunking', state: 'working' }, [advance], { leaseMs: 1 })).toThrow('workerId is required');
    expect(() => planTransition(JOB, { stage: 'chunking', state: 'working' }, [advance], { workerId: 'w' })).toThrow('leaseMs are required');
    expect(() =>
      planTransition(JOB, { stage: 'chunking', state: 'working' }, [advance], { workerId: 'w', leaseMs: 1, detail: {}, steps: [{}] }),
    ).toThrow('detail and steps');
    expect(() => planTransition(JOB, { stage: 'chunking', state: 'working' }, [advance], { workerId: 'w', leaseMs: 1, steps: [{}, {}] })).toThrow(
      'steps: 2 given for 1 events',
    );
  });
});

/** A plan the test needs to exist (planTransition answers null only for a step the state machine refuses). */
function planned(...args: Parameters<typeof planTransition>): TransitionPlan {
  const p = planTransition(...args);
  if (!p) throw new Error('the state machine refused the step');
  return p;
}

describe('renderTransition', () => {
  const plan = () => planned(JOB, { stage: 'chunking', state: 'working' }, [advance], { workerId: 'w', leaseMs: 1 });

  it('one statement: the compare-and-set, the event, the document; every value bound, none in the text', () => {
    const { text, params } = renderTransition(plan());
    expect(text).toMatch(/UPDATE upload_pipeline\.upload_jobs SET .* WHERE job_id = \$\d+ AND stage = \$\d+ AND state = \$\d+ AND claimed_by = \$\d+/s);
    expect(text).toContain('INSERT INTO upload_pipeline.events');
    expect(text).toContain('UPDATE upload_pipeline.documents d SET processing_status');
    expect(text).not.toContain(JOB);
    expect(params).toContain(JOB);
    expect((text.match(/\$\d+/g) ?? []).map((m) => Number(m.slice(1))).sort((a, b) => b - a)[0]).toBe(params.length);
  });

  it('the same shape of plan gives the same text (one prepared statement), other values only other parameters', () => {
    const a = renderTransition(plan());
    const b = renderTransition(planned('20000000-0000-4000-8000-000000000002', { stage: 'chunking', state: 'working' }, [advance], { workerId: 'x', leaseMs: 9 }));
    expect(b.text).toBe(a.text);
    expect(b.params).not.toEqual(a.params);
  });

  it("a stage's write goes in the statement: chunk rows after the update, a finalize's requirement in its WHERE", () => {
    const chunks = renderTransition(
      plan(),
      writeSql({
        kind: 'buffer_chunks',
        documentId: JOB,
        complete: true,
        rows: [{ chunkId: JOB, chunker: 'md', version: 1, ord: 0, text: 't', chunkSha: 'a'.repeat(64), tokenCount: 1, meta: {} }],
      }),
    );
    expect(chunks.text).toMatch(/\), chunk_rows AS \(\s+INSERT INTO upload_pipeline\.document_chunk_buffer/);
    expect(chunks.text).toContain('AS report FROM (SELECT 1) AS one LEFT JOIN upd ON true');
    const fin = renderTransition(
      planned(JOB, { stage: 'embeddings_stored', state: 'working' }, [advance], { workerId: 'w', leaseMs: 1 }),
      writeSql({ kind: 'finalize', documentId: JOB, userId: JOB, vectorStorage: 'pgvector' }),
    );
    expect(fin.text).toMatch(/WITH m AS \(/);
    expect(fin.text).toContain('AND ((SELECT missing FROM m) = 0)');
    expect(fin.text).toContain('v.embedding::vector');
    expect(fin.text).toContain('chunk_count = (SELECT count(*)');
    // vectors handed over (not buffered): a statement of its own shape, the vectors in one binary parameter, the cast
    // applying to them as to the buffer's
    const finalizing = planned(JOB, { stage: 'embeddings_stored', state: 'working' }, [advance], { workerId: 'w', leaseMs: 1 });
    const finalize = { kind: 'finalize', documentId: JOB, userId: JOB, vectorStorage: 'pgvector' } as const;
    const vectors = { model: 'm', version: 1, chunkIds: [JOB, JOB], vectors: [[1, 2], [3, 4]] };
    const inline = renderTransition(finalizing, writeSql({ ...finalize, vectors }));
    expect(inline.text).not.toBe(fin.text);
    expect(inline.text).toContain('v.embedding::vector');
    expect(inline.params.filter((v) => Buffer.isBuffer(v))).toHaveLength(1);
    expect((inline.text.match(/\$\d+/g) ?? []).map((m) => Number(m.slice(1))).sort((a, b) => b - a)[0]).toBe(inline.params.length);
    // none handed over: the statement without them
    const none = renderTransition(finalizing, writeSql({ ...finalize, vectors: { ...vectors, chunkIds: [], vectors: [] } }));
    expect(none.text).toBe(fin.text);
    expect(() => writeSql({ ...finalize, vectors: { ...vectors, vectors: [[1, 2]] } })).toThrow('1 vectors for 2 chunks');
  });

  it('a finalize with the chunks in hand: no buffer read, the chunks unnested with their vectors, the cast applied', () => {
    const finalizing = planned(JOB, { stage: 'embeddings_stored', state: 'working' }, [advance], { workerId: 'w', leaseMs: 1 });
    const ids = ['30000000-0000-4000-8000-000000000001', '30000000-0000-4000-8000-000000000002'];
    const chunks = ids.map((chunkId, ord) => ({ chunkId, chunker: 'c', version: 1, ord, text: `t${ord}`, chunkSha: 'a'.repeat(64), tokenCount: 1, meta: {} }));
    const vectors = { model: 'm', version: 1, chunkIds: [ids[1], ids[0]], vectors: [[3, 4], [1, 2]] };
    const finalize = { kind: 'finalize', documentId: JOB, userId: JOB, vectors, chunks } as const;
    const pg = renderTransition(finalizing, writeSql({ ...finalize, vectorStorage: 'pgvector' }));
    const real = renderTransition(finalizing, writeSql({ ...finalize, vectorStorage: 'real_array' }));
    expect(pg.text).toMatch(/WITH m AS \(\s+SELECT CASE WHEN EXISTS/);
    expect(pg.text).not.toContain('FROM upload_pipeline.document_chunk_buffer b');
    expect(pg.text).toContain('WITH ORDINALITY AS c (chunk_id, document_id, chunker, chunker_version, ord, text, chunk_sha, token_count, meta, n)');
    expect(pg.text).toMatch(/::real\[\]\)\[\(c\.n - 1\) \* \$\d+::int \+ 1 : c\.n \* \$\d+::int\]::vector, c\.meta/);
    expect(real.text).not.toContain('::vector');
    expect(pg.text).toContain('DELETE FROM upload_pipeline.document_chunk_buffer');
    // the vectors in the chunks' order, in one binary parameter
    const [packed] = pg.params.filter((v): v is Buffer => Buffer.isBuffer(v));
    const floats = Array.from({ length: 4 }, (_, i) => packed.readFloatBE(24 + 8 * i));
    expect(floats).toEqual([1, 2, 3, 4]);
    expect(() => writeSql({ ...finalize, vectorStorage: 'pgvector', vectors: { ...vectors, chunkIds: [ids[0], ids[0]] } })).toThrow(`chunk ${ids[1]} has no vector`);
    expect(() => writeSql({ kind: 'finalize', documentId: JOB, userId: JOB, vectorStorage: 'pgvector', chunks })).toThrow('chunks in hand without their vectors');
  });
});
