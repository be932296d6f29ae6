import { CLAIM_RULES } from './claim-rules';
import { WORK_STAGES, JOB_STATES, STAGES } from './stages';
import { canTransition } from './transitions';

describe('claim rules', () => {
  it('every rule is a claim the state machine allows, at every stage it covers', () => {
    for (const rule of CLAIM_RULES) {
      const stages = rule.stage ? [rule.stage] : WORK_STAGES;
      for (const stage of stages) expect(canTransition({ stage, state: rule.state }, rule.event)).toBe(true);
    }
  });

  it('the rules cover every claim the state machine allows', () => {
    const events = [{ type: 'claim' as const }, { type: 'claim' as const, due: true }, { type: 'claim' as const, leaseExpired: true }];
    for (const stage of STAGES)
      for (const state of JOB_STATES)
        for (const e of events) {
          if (!canTransition({ stage, state }, e)) continue;
          const covered = CLAIM_RULES.some((r) => r.state === state && (!r.stage || r.stage === stage));
          expect({ stage, state, covered }).toEqual({ stage, state, covered: true });
        }
  });
});
