import { PermanentError } from '@app/errors';
import fc from 'fast-check';
import { PlanItem, planBatches } from './batch-planner';

const item = (i: number, tokens: number): PlanItem => ({ id: `c${i}`, text: `text ${i}`, tokens });

describe('planBatches', () => {
  it('returns no batches for no items and one batch when everything fits', () => {
    expect(planBatches([])).toEqual([]);
    const items = [item(0, 10), item(1, 20)];
    expect(planBatches(items)).toEqual([items]);
  });

  it('splits on the input-count limit', () => {
    const items = Array.from({ length: 5 }, (_, i) => item(i, 1));
    expect(planBatches(items, { maxInputs: 2 }).map((b) => b.map((x) => x.id))).toEqual([
      ['c0', 'c1'],
      ['c2', 'c3'],
      ['c4'],
    ]);
  });

  it('splits on the per-request token limit, filling batches exactly to it', () => {
    const items = [item(0, 6), item(1, 4), item(2, 7), item(3, 3), item(4, 1)];
    const batches = planBatches(items, { maxTokensPerRequest: 10, maxTokensPerInput: 8 });
    expect(batches.map((b) => b.map((x) => x.tokens))).toEqual([[6, 4], [7, 3], [1]]);
  });

  it('uses the OpenAI limits by default (2048 inputs, 300k tokens)', () => {
    const many = Array.from({ length: 4097 }, (_, i) => item(i, 1));
    expect(planBatches(many).map((b) => b.length)).toEqual([2048, 2048, 1]);
    const heavy = Array.from({ length: 80 }, (_, i) => item(i, 8000));
    expect(planBatches(heavy).map((b) => b.length)).toEqual([37, 37, 6]);
  });

  it('rejects an item over the per-input limit and empty text as permanent errors', () => {
    expect(() => planBatches([item(0, 8192)])).toThrow(PermanentError);
    expect(() => planBatches([item(0, 1), item(1, 9000)])).toThrow(
      expect.objectContaining({ code: 'input_too_long', message: expect.stringContaining('c1') }),
    );
    expect(() => planBatches([{ id: 'x', text: '', tokens: 0 }])).toThrow(expect.objectContaining({ code: 'empty_input' }));
  });

  it('rejects nonsense token counts and limits', () => {
    expect(() => planBatches([item(0, -1)])).toThrow(RangeError);
    expect(() => planBatches([item(0, 1.5)])).toThrow(RangeError);
    expect(() => planBatches([], { maxInputs: 0 })).toThrow(RangeError);
    expect(() => planBatches([], { maxTokensPerRequest: 10, maxTokensPerInput: 20 })).toThrow(RangeError);
  });

  it('property: order kept, every batch within both limits, no batch could have taken the next item', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }),
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 50, max: 400 }),
        (tokens, maxInputs, maxTokensPerRequest) => {
          const items = tokens.map((t, i) => item(i, t));
          const batches = planBatches(items, { maxInputs, maxTokensPerRequest, maxTokensPerInput: 50 });
          expect(batches.flat()).toEqual(items);
          const sum = (b: PlanItem[]) => b.reduce((n, x) => n + x.tokens, 0);
          batches.forEach((b, i) => {
            expect(b.length).toBeGreaterThan(0);
            expect(b.length).toBeLessThanOrEqual(maxInputs);
            expect(sum(b)).toBeLessThanOrEqual(maxTokensPerRequest);
            const next = batches[i + 1]?.[0];
            if (next) expect(b.length === maxInputs || sum(b) + next.tokens > maxTokensPerRequest).toBe(true);
          });
        },
      ),
    );
  });
});
