import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { classifyError, PermanentError } from '@app/errors';
import { readEmbeddingSettings } from '@app/database';
import { EMBEDDER, EmbedOptions, EmbedResult, Embedder, PlanItem, planBatches } from '@app/embedder-client';
import { MetricsService } from '@app/observability';
import {
  BuildConflictError,
  BuildRequest,
  BuildRequestError,
  EmbeddingModel,
  ModelRef,
  ModelsInUse,
  planBuild,
  refLabel,
  sameRef,
  VectorColumn,
} from './embedding-model';
import { EMBEDDINGS_OPTIONS, EmbeddingsOptions } from './embeddings.options';

interface ModelRow {
  embed_model: string;
  embed_version: number;
  dimensions: number;
  state: EmbeddingModel['state'];
  requested_by: string | null;
  created_at: Date;
  activated_at: Date | null;
  retired_at: Date | null;
}

const COLUMNS = `embed_model, embed_version, dimensions, state, requested_by, created_at, activated_at, retired_at`;
const MODELS = 'upload_pipeline.embedding_models';
const CHUNKS = 'upload_pipeline.document_chunks';

const toModel = (r: ModelRow): EmbeddingModel => ({
  model: r.embed_model,
  version: Number(r.embed_version),
  dimensions: Number(r.dimensions),
  state: r.state,
  requestedBy: r.requested_by,
  createdAt: new Date(r.created_at).toISOString(),
  activatedAt: r.activated_at ? new Date(r.activated_at).toISOString() : null,
  retiredAt: r.retired_at ? new Date(r.retired_at).toISOString() : null,
});

/** A registered model with how many chunks have its vectors. */
export interface EmbeddingModelStatus extends EmbeddingModel {
  chunks: number;
}

export interface EmbeddingsOverview {
  /** Distinct chunks in the database. */
  totalChunks: number;
  models: EmbeddingModelStatus[];
}

/** No such model is registered (HTTP 404). */
export class ModelNotFoundError extends Error {
  constructor(ref: ModelRef) {
    super(`${refLabel(ref)} is not registered`);
    this.name = 'ModelNotFoundError';
  }
}

/**
 * The registry of embedding models (`embedding_models`): which one is active (search reads it, new documents
 * get it), which one is being built next to it, and the requests that change that. The configured model
 * becomes the active one the first time the database has none.
 */
@Injectable()
export class EmbeddingModelsService {
  private readonly log = new Logger('Embeddings');
  private column: Promise<VectorColumn> | null = null;
  private warned = false;
  private cached: { at: number; value: ModelsInUse } | null = null;
  private generation = 0;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(EMBEDDINGS_OPTIONS) private readonly opts: EmbeddingsOptions,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  /**
   * The active model and the one being built, if any; registers the configured model when none is active.
   * Answers from memory for `inUseCacheMs` unless `fresh` (or inside a caller's transaction).
   */
  async inUse(m: EntityManager | DataSource = this.ds, opts: { fresh?: boolean } = {}): Promise<ModelsInUse> {
    const ttl = this.opts.inUseCacheMs ?? 0;
    const cacheable = m === this.ds && ttl > 0;
    if (cacheable && !opts.fresh && this.cached && Date.now() - this.cached.at < ttl) return this.cached.value;
    const generation = this.generation;
    const value = await this.readInUse(m);
    // a read that began before an invalidate() may hold the old answer: use it once, do not keep it
    if (cacheable && generation === this.generation) this.cached = { at: Date.now(), value };
    return value;
  }

  /** Forget the cached answer of inUse() (after this process changed the registry). */
  invalidate(): void {
    this.cached = null;
    this.generation++;
  }

  private async readInUse(m: EntityManager | DataSource): Promise<ModelsInUse> {
    let rows = await this.rows(m, `state IN ('active', 'building')`);
    if (!rows.some((r) => r.state === 'active')) {
      await this.registerConfigured(m);
      rows = await this.rows(m, `state IN ('active', 'building')`);
    }
    const active = rows.find((r) => r.state === 'active');
    if (!active) throw new Error('no active embedding model could be registered');
    const configured = this.opts.configured;
    if (!this.warned && !sameRef(active, configured)) {
      this.warned = true;
      this.log.warn(
        `EMBEDDING_MODEL/EMBEDDING_VERSION say ${refLabel(configured)} but the active model is ${refLabel(active)}; ` +
          `search and new documents use ${refLabel(active)} until a re-embedding switches them (POST /api/v2/embeddings/reembed)`,
      );
    }
    return { active, building: rows.find((r) => r.state === 'building') ?? null };
  }

  /** The model search reads. */
  async active(): Promise<EmbeddingModel> {
    return (await this.inUse()).active;
  }

  /** An embedder asking the provider for this model's vectors. */
  embedderFor(m: Pick<EmbeddingModel, 'model' | 'dimensions'>): Embedder {
    return this.embedder.forModel(m.model, m.dimensions);
  }

  /** Embeds `inputs` with this model's embedder, counting the request and its tokens in the metrics. */
  async embed(m: Pick<EmbeddingModel, 'model' | 'dimensions'>, inputs: string[], opts?: EmbedOptions): Promise<EmbedResult> {
    try {
      const res = await this.embedderFor(m).embed(inputs, opts);
      this.metrics?.embeddingRequest(m.model, 'ok');
      this.metrics?.embeddingTokensUsed(m.model, res.promptTokens);
      return res;
    } catch (e) {
      this.metrics?.embeddingRequest(m.model, 'error');
      throw e;
    }
  }

  /**
   * Embeds `items` with this model in micro-batches within the provider's limits (inputs and tokens a request;
   * the embedder's token-rate budget paces them), yielding each batch with its vectors as it comes back (`last`: no
   * batch follows).
   */
  async *embedBatches<T extends PlanItem>(
    m: Pick<EmbeddingModel, 'model' | 'dimensions'>,
    items: readonly T[],
    signal: AbortSignal,
  ): AsyncGenerator<{ batch: T[]; result: EmbedResult; last: boolean }> {
    const embedder = this.embedderFor(m);
    const batches = planBatches(items, {
      maxInputs: embedder.maxInputs,
      maxTokensPerRequest: embedder.maxTokensPerRequest,
      maxTokensPerInput: embedder.maxInputTokens,
    });
    for (const [i, batch] of batches.entries()) {
      signal.throwIfAborted();
      const tokens = batch.reduce((n, c) => n + c.tokens, 0);
      const result = await this.embed(
        m,
        batch.map((c) => c.text),
        { signal, tokens },
      );
      yield { batch, result, last: i === batches.length - 1 };
    }
  }

  /** Every registered model with its chunk count, newest first. */
  async overview(): Promise<EmbeddingsOverview> {
    await this.inUse();
    const rows = (await this.ds.query(
      `SELECT ${COLUMNS.split(', ').map((c) => `m.${c}`).join(', ')},
              (SELECT count(*) FROM ${CHUNKS} c WHERE c.embed_model = m.embed_model AND c.embed_version = m.embed_version)::int AS chunks
       FROM ${MODELS} m
       ORDER BY m.created_at DESC, m.embed_model, m.embed_version`,
    )) as (ModelRow & { chunks: number })[];
    const [{ total }] = (await this.ds.query(`SELECT count(DISTINCT chunk_id)::int AS total FROM ${CHUNKS}`)) as { total: number }[];
    return { totalChunks: total, models: rows.map((r) => ({ ...toModel(r), chunks: Number(r.chunks) })) };
  }

  async get(ref: ModelRef): Promise<EmbeddingModelStatus> {
    const found = (await this.overview()).models.find((m) => sameRef(m, ref));
    if (!found) throw new ModelNotFoundError(ref);
    return found;
  }

  /**
   * Starts re-embedding every chunk with another model or version, next to the active one; the worker fills it
   * in and switches search over when every chunk has it. Asks the provider for one vector first, so an unknown
   * model or a size it cannot give is refused here rather than by every batch. Idempotent for the model being
   * built. Throws BuildRequestError (400), BuildConflictError (409) or the provider's classified error.
   */
  async startBuild(req: BuildRequest, requestedBy: string): Promise<{ model: EmbeddingModel; started: boolean }> {
    const column = await this.vectorColumn();
    const plan = planBuild(req, await this.inUse(), await this.rows(this.ds, 'true'), column);
    if (plan.kind === 'already-building') return { model: plan.model, started: false };
    await this.probe(plan.target);

    try {
      const model = await this.ds.transaction(async (m) => {
        // Decide again under the lock of the registry: another request may have started meanwhile.
        await m.query(`LOCK TABLE ${MODELS} IN SHARE ROW EXCLUSIVE MODE`);
        const again = planBuild(req, await this.inUse(m), await this.rows(m, 'true'), column);
        if (again.kind === 'already-building') return again.model;
        const { model, version, dimensions } = again.target;
        const rows = (await m.query(
          `WITH up AS (
             INSERT INTO ${MODELS} AS x (embed_model, embed_version, dimensions, state, requested_by)
             VALUES ($1, $2, $3, 'building', $4)
             ON CONFLICT (embed_model, embed_version) DO UPDATE
               SET state = 'building', requested_by = EXCLUDED.requested_by, retired_at = NULL, updated_at = now()
               WHERE x.state = 'retired'
             RETURNING ${COLUMNS})
           SELECT * FROM up`,
          [model, version, dimensions, requestedBy],
        )) as ModelRow[];
        if (!rows.length) throw new BuildConflictError(`${refLabel(again.target)} cannot be rebuilt from its current state`);
        return toModel(rows[0]);
      });
      this.invalidate();
      if (model.state === 'building' && model.requestedBy === requestedBy)
        this.log.log(`re-embedding to ${refLabel(model)} (${model.dimensions} dimensions) requested by ${requestedBy}`);
      return { model, started: true };
    } catch (e) {
      if ((e as { code?: string }).code === '23505')
        throw new BuildConflictError('another re-embedding was started at the same time; list the models and retry');
      throw e;
    }
  }

  /**
   * Cancels a build (its vectors are deleted) or forgets a retired model (and any of its rows left). The active
   * model cannot be removed.
   */
  async remove(ref: ModelRef): Promise<EmbeddingModel> {
    const removed = await this.ds.transaction(async (m) => {
      const [row] = (await m.query(
        `SELECT ${COLUMNS} FROM ${MODELS} WHERE embed_model = $1 AND embed_version = $2 FOR UPDATE`,
        [ref.model, ref.version],
      )) as ModelRow[];
      if (!row) throw new ModelNotFoundError(ref);
      if (row.state === 'active')
        throw new BuildConflictError(`${refLabel(ref)} is the active model; re-embed to another model to replace it`);
      if (row.state === 'retired') {
        // A document finalized around a switch may have only the retired model's rows until the workers
        // re-embed it: those rows are its only copy (its buffers are gone), so they must not be cascaded away.
        const [{ only }] = (await m.query(
          `SELECT count(*)::int AS only FROM ${CHUNKS} c
           WHERE c.embed_model = $1 AND c.embed_version = $2
             AND NOT EXISTS (SELECT 1 FROM ${CHUNKS} a JOIN ${MODELS} am ON am.embed_model = a.embed_model
                               AND am.embed_version = a.embed_version AND am.state = 'active'
                             WHERE a.chunk_id = c.chunk_id)`,
          [ref.model, ref.version],
        )) as { only: number }[];
        if (only > 0)
          throw new BuildConflictError(
            `${only} chunks have only ${refLabel(ref)} vectors so far; the workers re-embed them with the active model, try again then`,
          );
      }
      await m.query(`DELETE FROM ${MODELS} WHERE embed_model = $1 AND embed_version = $2`, [ref.model, ref.version]);
      return toModel(row);
    });
    this.invalidate();
    return removed;
  }

  /** The cast that turns a `real[]` value into what `document_chunks.embedding` stores (`::vector` or nothing). */
  async vectorCast(): Promise<string> {
    return (await this.vectorColumn()).storage === 'pgvector' ? '::vector' : '';
  }

  /** How the migration stores vectors: pgvector's column has one size, real[] takes any. */
  vectorColumn(): Promise<VectorColumn> {
    this.column ??= readEmbeddingSettings(this.ds).catch((e: unknown) => {
      this.column = null;
      throw e;
    });
    return this.column;
  }

  private async probe(target: ModelRef & { dimensions: number }): Promise<void> {
    try {
      const res = await this.embedder.forModel(target.model, target.dimensions).embed(['embedding model probe']);
      if (res.vectors[0]?.length !== target.dimensions) throw new BuildRequestError(`the provider did not return ${target.dimensions} dimensions`);
    } catch (e) {
      if (e instanceof BuildRequestError) throw e;
      const c = classifyError(e, 'embedder');
      if (c instanceof PermanentError) throw new BuildRequestError(`the embedding provider refused ${refLabel(target)}: ${c.message}`);
      throw c;
    }
  }

  private async registerConfigured(m: EntityManager | DataSource): Promise<void> {
    const { model, version, dimensions } = this.opts.configured;
    const column = await this.vectorColumn();
    const dims = column.storage === 'pgvector' && column.dimensions ? column.dimensions : dimensions;
    // ON CONFLICT DO NOTHING covers both keys: the model row itself and "one active" (another process won).
    await m.query(
      `INSERT INTO ${MODELS} (embed_model, embed_version, dimensions, state, activated_at, requested_by)
       SELECT $1, $2, $3, 'active', now(), 'configuration'
       WHERE NOT EXISTS (SELECT 1 FROM ${MODELS} WHERE state = 'active')
       ON CONFLICT DO NOTHING`,
      [model, version, dims],
    );
  }

  private async rows(m: EntityManager | DataSource, where: string): Promise<EmbeddingModel[]> {
    const rows = (await m.query(`SELECT ${COLUMNS} FROM ${MODELS} WHERE ${where}`)) as ModelRow[];
    return rows.map(toModel);
  }
}
