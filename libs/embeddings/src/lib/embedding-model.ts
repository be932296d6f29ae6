import type { EmbeddingModelState, EmbeddingStorage } from '@app/database';

/** An embedding model and the version the operator gives it (bumped when the same name embeds differently). */
export interface ModelRef {
  model: string;
  version: number;
}

/** A row of `embedding_models`. */
export interface EmbeddingModel extends ModelRef {
  /** Length of the vectors asked of the provider (and stored). */
  dimensions: number;
  state: EmbeddingModelState;
  requestedBy: string | null;
  createdAt: string;
  activatedAt: string | null;
  retiredAt: string | null;
}

/** What search reads and new documents get (`active`), and what is being filled in next to it (`building`). */
export interface ModelsInUse {
  active: EmbeddingModel;
  building: EmbeddingModel | null;
}

/** A request to re-embed every chunk with another model or version. */
export interface BuildRequest {
  model: string;
  /** Default: the active version + 1 for the active model's name, else 1. */
  version?: number;
  /** Default: the pgvector column's size, else the active model's. */
  dimensions?: number;
}

/** What the database can store: pgvector's column has one fixed size, real[] takes any. */
export interface VectorColumn {
  storage: EmbeddingStorage;
  dimensions: number | null;
}

export type BuildPlan =
  | { kind: 'start'; target: ModelRef & { dimensions: number }; /** a retired row is reused */ reuse: boolean }
  | { kind: 'already-building'; model: EmbeddingModel };

/** The request cannot be met as asked (HTTP 400). */
export class BuildRequestError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildRequestError';
  }
}

/** The request conflicts with the models' current state (HTTP 409). */
export class BuildConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildConflictError';
  }
}

export const sameRef = (a: ModelRef, b: ModelRef): boolean => a.model === b.model && a.version === b.version;
export const refLabel = (r: ModelRef): string => `${r.model} v${r.version}`;

/**
 * Decides what a re-embedding request does, given the registered models and the vector column. Pure: the
 * service runs it inside the transaction that then writes the decision.
 */
export function planBuild(req: BuildRequest, inUse: ModelsInUse, known: readonly EmbeddingModel[], column: VectorColumn): BuildPlan {
  const model = req.model.trim();
  if (!model || model.length > 200) throw new BuildRequestError('model must be 1 to 200 characters');
  const version = req.version ?? (model === inUse.active.model ? inUse.active.version + 1 : 1);
  if (!Number.isInteger(version) || version < 1) throw new BuildRequestError('version must be an integer >= 1');
  const target = { model, version };

  if (inUse.building) {
    if (sameRef(inUse.building, target)) return { kind: 'already-building', model: inUse.building };
    throw new BuildConflictError(
      `re-embedding to ${refLabel(inUse.building)} is in progress; wait for it or cancel it before starting another`,
    );
  }
  if (sameRef(inUse.active, target)) throw new BuildConflictError(`${refLabel(target)} is already the active model`);

  const fixed = column.storage === 'pgvector' ? column.dimensions : null;
  const dimensions = req.dimensions ?? fixed ?? inUse.active.dimensions;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > 16000)
    throw new BuildRequestError('dimensions must be an integer in 1..16000');
  if (fixed !== null && dimensions !== fixed)
    throw new BuildRequestError(
      `the database stores vector(${fixed}); ask for dimensions ${fixed} (text-embedding-3 models accept it) or migrate the column`,
    );

  const previous = known.find((k) => sameRef(k, target));
  if (previous && previous.dimensions !== dimensions)
    throw new BuildConflictError(
      `${refLabel(target)} was embedded before with ${previous.dimensions} dimensions; use another version for ${dimensions}`,
    );
  return { kind: 'start', target: { ...target, dimensions }, reuse: !!previous };
}
