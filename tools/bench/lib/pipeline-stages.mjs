// The pipeline's stage, state and event-type names, from their one source: libs/state-machine/src/lib/stages.ts.
//
// The bench is plain JavaScript run by node without a TypeScript loader, so the file is compiled here with
// @swc/core (types stripped, nothing else; search-pgvector.mjs does the same with the api's SQL builder) and
// imported from memory. stages.ts must therefore stay free of imports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { transformSync } from '@swc/core';
import { ROOT } from './stack.mjs';

export const STAGES_SOURCE = join(ROOT, 'libs/state-machine/src/lib/stages.ts');

/** Compiles and imports stages.ts; its exports (STAGES, JOB_STATES, EVENT_TYPES, WORK_STAGES, ...). */
export async function loadStagesModule(file = STAGES_SOURCE) {
  const { code } = transformSync(readFileSync(file, 'utf8'), {
    filename: file,
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
    module: { type: 'es6' },
    sourceMaps: false,
  });
  try {
    return await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);
  } catch (e) {
    throw new Error(`${file}: cannot load it compiled in memory (it must not import anything): ${e.message}`);
  }
}

const stages = await loadStagesModule();

/** Pipeline stages, in order. */
export const STAGES = stages.STAGES;
/** Job states. */
export const JOB_STATES = stages.JOB_STATES;
/** Event types of upload_pipeline.events. */
export const EVENT_TYPES = stages.EVENT_TYPES;
/** Stages a worker claims and works on (every stage but `uploaded` and `complete`). */
export const WORK_STAGES = stages.WORK_STAGES;

/**
 * `names` after checking each is one of `known` (the state machine's list called `what`): the bench's
 * literal stage, state and event names fail loudly here when the state machine renames one.
 */
export function checkNames(what, known, names) {
  const unknown = names.filter((n) => !known.includes(n));
  if (unknown.length) throw new Error(`bench: not a ${what} of ${STAGES_SOURCE}: ${unknown.join(', ')}`);
  return names;
}
