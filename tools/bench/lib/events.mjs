// Stage latencies from the events table (upload_pipeline.events) and waiting for jobs to settle.
import { checkNames, EVENT_TYPES, JOB_STATES, STAGES } from './pipeline-stages.mjs';
import { sleep, summarize } from './stats.mjs';

// the names this file's analysis relies on, checked against the state machine's lists when it is loaded
checkNames('stage', STAGES, ['uploaded', 'job_validated']);
checkNames('job state', JOB_STATES, ['queued', 'working', 'waiting', 'done', 'deadletter']);
checkNames('event type', EVENT_TYPES, ['stage_started', 'retry', 'error', 'finalized']);

/** The events of `jobIds`, per job in order; `t` in epoch milliseconds. `q` is the bench's counted query. */
export async function loadEvents(q, jobIds) {
  return q(
    `SELECT job_id, event_type, stage, from_stage, from_state, to_state, actor, extract(epoch FROM created_at)::float8 * 1000 AS t
     FROM upload_pipeline.events WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, event_id`,
    [jobIds],
  );
}

/** Per-stage pickup (queued -> claimed), working and waiting times; confirm -> complete per job. */
export function analyze(events) {
  const byJob = new Map();
  for (const e of events) {
    if (!byJob.has(e.job_id)) byJob.set(e.job_id, []);
    byJob.get(e.job_id).push(e);
  }
  const pickup = {};
  const work = {};
  const wait = {};
  const claimSpan = {};
  const push = (m, k, v) => (m[k] ??= []).push(v);
  const confirmToDone = [];
  const confirms = [];
  const claims = [];
  const dones = [];
  let retries = 0;
  let errors = 0;
  let transitions = 0;
  for (const evs of byJob.values()) {
    let confirm = null;
    let done = null;
    let claimStart = null;
    transitions += evs.length;
    evs.forEach((e, i) => {
      const prev = evs[i - 1];
      const next = evs[i + 1];
      if (e.from_stage === 'uploaded' && e.stage === 'job_validated' && e.to_state === 'queued')
        confirm = e.t;
      if (e.event_type === 'finalized') done = e.t;
      if (e.event_type === 'retry') retries++;
      if (e.event_type === 'error') errors++;
      if (e.event_type === 'stage_started' && e.to_state === 'working') {
        claimStart = e;
        claims.push(e.t);
        if (prev && prev.to_state === 'queued' && prev.stage === e.stage) push(pickup, e.stage, e.t - prev.t);
      }
      if (e.to_state === 'working' && next) push(work, e.stage, next.t - e.t);
      if (e.to_state === 'waiting' && e.stage !== 'uploaded' && next) push(wait, e.stage, next.t - e.t);
      if (claimStart && e.to_state !== 'working') {
        push(claimSpan, claimStart.stage, e.t - claimStart.t);
        claimStart = null;
      }
    });
    if (confirm !== null) confirms.push(confirm);
    if (done !== null) dones.push(done);
    if (confirm !== null && done !== null) confirmToDone.push(done - confirm);
  }
  const per = (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, summarize(v, 2)]));
  const windowMs = dones.length && claims.length ? Math.max(...dones) - Math.min(...claims) : null;
  dones.sort((a, b) => a - b);
  confirms.sort((a, b) => a - b);
  return {
    jobs: byJob.size,
    transitions_per_job: byJob.size ? Number((transitions / byJob.size).toFixed(2)) : null,
    retries,
    errors,
    first_confirm: confirms[0] ?? null,
    first_claim: claims.length ? Math.min(...claims) : null,
    last_done: dones[dones.length - 1] ?? null,
    dones,
    pickup_ms: per(pickup),
    work_ms: per(work),
    wait_ms: per(wait),
    claim_span_ms: per(claimSpan),
    confirm_to_complete_ms: summarize(confirmToDone, 1),
    claims: claimStats(events, claimSpan, windowMs),
  };
}

/**
 * Claim transactions: stage_started rows of one worker with the same transaction time (now()) are one claim.
 * `windowMs` is first claim -> last complete, over which the jobs in hand (`claimSpan`) are averaged.
 */
function claimStats(events, claimSpan, windowMs) {
  const claimTx = new Map();
  for (const e of events) {
    if (e.event_type !== 'stage_started' || e.to_state !== 'working') continue;
    const key = `${e.actor}|${e.t}`;
    claimTx.set(key, (claimTx.get(key) ?? 0) + 1);
  }
  const byWorker = new Map();
  for (const key of claimTx.keys()) {
    const [actor, t] = key.split('|');
    if (!byWorker.has(actor)) byWorker.set(actor, []);
    byWorker.get(actor).push(Number(t));
  }
  const gaps = [];
  for (const ts of byWorker.values()) {
    ts.sort((x, y) => x - y);
    for (let i = 1; i < ts.length; i++) gaps.push(ts[i] - ts[i - 1]);
  }
  const spanTotal = Object.values(claimSpan)
    .flat()
    .reduce((x, y) => x + y, 0);
  return {
    transactions: claimTx.size,
    jobs_per_transaction: claimTx.size
      ? Number(([...claimTx.values()].reduce((x, y) => x + y, 0) / claimTx.size).toFixed(2))
      : null,
    gap_between_claims_of_a_worker_ms: summarize(gaps, 2),
    /** jobs in workers' hands on average over first claim -> last complete (all workers together; jobs claimed ahead count) */
    mean_jobs_in_hand: windowMs ? Number((spanTotal / windowMs).toFixed(2)) : null,
  };
}

/** Polls until every job of `jobIds` is done or dead-lettered, or `timeoutS` passed; `onProgress(done, dead)`. */
export async function waitSettled(q, jobIds, timeoutS, onProgress) {
  const until = Date.now() + timeoutS * 1000;
  for (;;) {
    const rows = await q(
      `SELECT count(*) FILTER (WHERE state = 'done')::int AS done, count(*) FILTER (WHERE state = 'deadletter')::int AS dead
       FROM upload_pipeline.upload_jobs WHERE job_id = ANY($1::uuid[])`,
      [jobIds],
    );
    const { done, dead } = rows[0];
    onProgress?.(done, dead);
    if (done + dead >= jobIds.length) return { done, dead, timedOut: false };
    if (Date.now() > until) return { done, dead, timedOut: true };
    await sleep(250);
  }
}
