import { STAGES, STAGE_PROGRESS, WORK_STAGES, isBefore, isJobState, isStage, nextStage, progressPercent } from './stages';

describe('stages', () => {
  it('lists the twelve stages of DESIGN.md in order', () => {
    expect(STAGES).toEqual([
      'uploaded', 'job_validated', 'parse_queued', 'parsing', 'parsed', 'parse_validated', 'chunking',
      'chunks_stored', 'embedding_queued', 'embedding_in_progress', 'embeddings_stored', 'complete',
    ]);
  });

  it('knows the next stage and the order', () => {
    expect(nextStage('uploaded')).toBe('job_validated');
    expect(nextStage('embeddings_stored')).toBe('complete');
    expect(nextStage('complete')).toBeNull();
    expect(isBefore('parsing', 'chunking')).toBe(true);
    expect(isBefore('chunking', 'parsing')).toBe(false);
    expect(isBefore('parsing', 'parsing')).toBe(false);
  });

  it('work stages exclude uploaded and complete', () => {
    expect(WORK_STAGES).not.toContain('uploaded');
    expect(WORK_STAGES).not.toContain('complete');
    expect(WORK_STAGES).toHaveLength(10);
  });

  it('guards values', () => {
    expect(isStage('parsing')).toBe(true);
    expect(isStage('parsingx')).toBe(false);
    expect(isStage(3)).toBe(false);
    expect(isJobState('deadletter')).toBe(true);
    expect(isJobState('dead')).toBe(false);
  });

  it('progress weights rise strictly from 0 to 100', () => {
    const ws = STAGES.map((s) => STAGE_PROGRESS[s]);
    expect(ws[0]).toBe(0);
    expect(ws[ws.length - 1]).toBe(100);
    for (let i = 1; i < ws.length; i++) expect(ws[i]).toBeGreaterThan(ws[i - 1]);
  });

  it('progress within a stage interpolates towards the next stage and clamps', () => {
    expect(progressPercent('embedding_in_progress', 0)).toBe(60);
    expect(progressPercent('embedding_in_progress', 0.5)).toBe(77);
    expect(progressPercent('embedding_in_progress', 1)).toBe(95);
    expect(progressPercent('embedding_in_progress', 7)).toBe(95);
    expect(progressPercent('embedding_in_progress', -1)).toBe(60);
    expect(progressPercent('embedding_in_progress', Number.NaN)).toBe(60);
    expect(progressPercent('complete')).toBe(100);
  });
});
