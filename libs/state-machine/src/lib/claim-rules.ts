import { JobState, Stage } from './stages';
import { JobEvent } from './transitions';

/**
 * When a worker may claim a job, as data, so the claim query is built from the same rules the
 * state machine enforces (see claim-rules.spec.ts, which checks each rule against `transition`).
 *  - `queued`: at once;
 *  - `retryable`: once next_attempt_at has passed;
 *  - `waiting` at `parsing`: once next_attempt_at (the webhook timeout) has passed, to poll the parser;
 *  - `working`: once the lease has expired (its worker died).
 */
export interface ClaimRule {
  readonly state: JobState;
  readonly stage?: Stage;
  readonly requires: 'nothing' | 'due' | 'lease_expired';
  /** The claim event this rule stands for. */
  readonly event: JobEvent;
}

export const CLAIM_RULES: readonly ClaimRule[] = [
  { state: 'queued', requires: 'nothing', event: { type: 'claim' } },
  { state: 'retryable', requires: 'due', event: { type: 'claim', due: true } },
  { state: 'waiting', stage: 'parsing', requires: 'due', event: { type: 'claim', due: true } },
  { state: 'working', requires: 'lease_expired', event: { type: 'claim', leaseExpired: true } },
];
