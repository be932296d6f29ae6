import type { Response } from 'express';
import type { Outcome } from './openai-error';

const KEY = 'mockOpenaiOutcome';

/** Remembers how a request ended so the stats hook can count it when the response closes. */
export function setOutcome(res: Response, outcome: Outcome): void {
  (res.locals as Record<string, unknown>)[KEY] = outcome;
}

export function getOutcome(res: Response): Outcome | undefined {
  return (res.locals as Record<string, unknown>)[KEY] as Outcome | undefined;
}
