import { JOB_STATES, JobState, STAGES, Stage } from './stages';
import { IllegalTransitionError, JobEvent, canTransition, transition, tryTransition } from './transitions';

/**
 * The allowed transitions, written out by hand (independently of the implementation). Every
 * (stage, state, event) combination not listed here must be refused.
 */
type Row = [Stage, JobState, JobEvent, Stage, JobState, string, boolean];
const S = (stage: Stage, state: JobState) => ({ stage, state });

const ADVANCE_QUEUED: [Stage, Stage][] = [
  ['job_validated', 'parse_queued'],
  ['parsing', 'parsed'],
  ['parsed', 'parse_validated'],
  ['parse_validated', 'chunking'],
  ['chunking', 'chunks_stored'],
  ['chunks_stored', 'embedding_queued'],
  ['embedding_queued', 'embedding_in_progress'],
  ['embedding_in_progress', 'embeddings_stored'],
];

const workStages: Stage[] = [
  'job_validated', 'parse_queued', 'parsing', 'parsed', 'parse_validated', 'chunking',
  'chunks_stored', 'embedding_queued', 'embedding_in_progress', 'embeddings_stored',
];

const allowed: Row[] = [
  ['uploaded', 'waiting', { type: 'upload_confirmed' }, 'job_validated', 'queued', 'stage_done', false],
  // claims
  ...workStages.map((s): Row => [s, 'queued', { type: 'claim' }, s, 'working', 'stage_started', true]),
  ...workStages.map((s): Row => [s, 'queued', { type: 'claim', due: true }, s, 'working', 'stage_started', true]),
  ...workStages.map((s): Row => [s, 'queued', { type: 'claim', leaseExpired: true }, s, 'working', 'stage_started', true]),
  ...workStages.map((s): Row => [s, 'retryable', { type: 'claim', due: true }, s, 'working', 'stage_started', true]),
  ...workStages.map((s): Row => [s, 'working', { type: 'claim', leaseExpired: true }, s, 'working', 'stage_started', true]),
  ['parsing', 'waiting', { type: 'claim', due: true }, 'parsing', 'working', 'stage_started', true],
  // advance
  ...ADVANCE_QUEUED.map(([a, b]): Row => [a, 'working', { type: 'advance' }, b, 'queued', 'stage_done', false]),
  ...ADVANCE_QUEUED.map(([a, b]): Row => [a, 'working', { type: 'advance', chain: true }, b, 'working', 'stage_done', true]),
  ['parse_queued', 'working', { type: 'advance' }, 'parsing', 'waiting', 'stage_done', false],
  ['parse_queued', 'working', { type: 'advance', chain: true }, 'parsing', 'waiting', 'stage_done', false],
  ['embeddings_stored', 'working', { type: 'advance' }, 'complete', 'done', 'finalized', false],
  ['embeddings_stored', 'working', { type: 'advance', chain: true }, 'complete', 'done', 'finalized', false],
  // parser
  ['parsing', 'waiting', { type: 'parser_finished' }, 'parsing', 'queued', 'stage_done', false],
  ['parsing', 'working', { type: 'parser_finished' }, 'parsing', 'working', 'stage_done', true],
  ['parsing', 'working', { type: 'parser_pending' }, 'parsing', 'waiting', 'retry', false],
  // failures
  ...workStages.map((s): Row => [s, 'working', { type: 'fail_transient' }, s, 'retryable', 'retry', false]),
  ['uploaded', 'waiting', { type: 'fail_permanent' }, 'uploaded', 'deadletter', 'error', false],
  ...workStages.flatMap((s) =>
    (['queued', 'working', 'waiting', 'retryable'] as JobState[]).map(
      (st): Row => [s, st, { type: 'fail_permanent' }, s, 'deadletter', 'error', false],
    ),
  ),
  // release on shutdown
  ...workStages.map((s): Row => [s, 'working', { type: 'release' }, s, s === 'parsing' ? 'waiting' : 'queued', 'retry', false]),
  // manual retry
  ['uploaded', 'deadletter', { type: 'retry' }, 'uploaded', 'waiting', 'retry', false],
  ...workStages.map((s): Row => [s, 'deadletter', { type: 'retry' }, s === 'parsing' ? 'parse_queued' : s, 'queued', 'retry', false]),
];

const EVENTS: JobEvent[] = [
  { type: 'upload_confirmed' },
  { type: 'claim' },
  { type: 'claim', due: true },
  { type: 'claim', leaseExpired: true },
  { type: 'advance' },
  { type: 'advance', chain: true },
  { type: 'parser_finished' },
  { type: 'parser_pending' },
  { type: 'fail_transient' },
  { type: 'fail_permanent' },
  { type: 'release' },
  { type: 'retry' },
];

const key = (stage: Stage, state: JobState, e: JobEvent) => `${stage}/${state}/${JSON.stringify(e)}`;
const allowedByKey = new Map(allowed.map((r) => [key(r[0], r[1], r[2]), r]));

describe('transition: every allowed transition', () => {
  it.each(allowed.map((r) => [key(r[0], r[1], r[2]), r] as const))('%s', (_k, [stage, state, e, toStage, toState, ev, lease]) => {
    const r = transition(S(stage, state), e);
    expect(r.to).toEqual(S(toStage, toState));
    expect(r.event).toBe(ev);
    expect(r.holdsLease).toBe(lease);
    expect(r.from).toEqual(S(stage, state));
  });
});

describe('transition: every refused transition', () => {
  const refused: [string, Stage, JobState, JobEvent][] = [];
  for (const stage of STAGES)
    for (const state of JOB_STATES)
      for (const e of EVENTS) if (!allowedByKey.has(key(stage, state, e))) refused.push([key(stage, state, e), stage, state, e]);

  it('covers the whole space', () => {
    expect(refused.length + allowedByKey.size).toBe(STAGES.length * JOB_STATES.length * EVENTS.length);
    expect(allowedByKey.size).toBe(allowed.length); // no duplicate rows in the table
  });

  it.each(refused)('%s is refused', (_k, stage, state, e) => {
    expect(() => transition(S(stage, state), e)).toThrow(IllegalTransitionError);
    expect(tryTransition(S(stage, state), e)).toBeNull();
    expect(canTransition(S(stage, state), e)).toBe(false);
  });
});

describe('transition details', () => {
  it('counts retries up on transient failure and resets them on advance and manual retry', () => {
    expect(transition(S('chunking', 'working'), { type: 'fail_transient' }).retryCount).toBe('increment');
    expect(transition(S('chunking', 'working'), { type: 'advance' }).retryCount).toBe('reset');
    expect(transition(S('chunking', 'deadletter'), { type: 'retry' }).retryCount).toBe('reset');
    expect(transition(S('chunking', 'queued'), { type: 'claim' }).retryCount).toBe('keep');
  });

  it('names the reason when refusing', () => {
    expect(() => transition(S('complete', 'done'), { type: 'claim' })).toThrow(/complete/);
    expect(() => transition(S('parsing', 'working'), { type: 'claim' })).toThrow(/lease/);
  });

  it('walks a job through the whole pipeline', () => {
    let s = transition(S('uploaded', 'waiting'), { type: 'upload_confirmed' }).to;
    const seen: string[] = ['uploaded/waiting', `${s.stage}/${s.state}`];
    for (let i = 0; i < 40 && s.state !== 'done'; i++) {
      if (s.state === 'waiting') s = transition(s, { type: 'parser_finished' }).to;
      else if (s.state === 'queued') s = transition(s, { type: 'claim' }).to;
      else s = transition(s, { type: 'advance' }).to;
      seen.push(`${s.stage}/${s.state}`);
    }
    expect(s).toEqual(S('complete', 'done'));
    for (const stage of STAGES) expect(seen.some((x) => x.startsWith(`${stage}/`))).toBe(true);
  });
});
