import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource } from 'typeorm';
import { EmbeddingModel, ModelRef, refLabel } from './embedding-model';
import { EmbeddingModelsService } from './embedding-models.service';
import { EMBEDDINGS_OPTIONS, EmbeddingsOptions } from './embeddings.options';

const CHUNKS = 'upload_pipeline.document_chunks';
const MODELS = 'upload_pipeline.embedding_models';
const FIRST = '00000000-0000-0000-0000-000000000000';

/** What one round of the loop did. */
export type ReembedStep =
  | { kind: 'embedded'; target: ModelRef; chunks: number }
  | { kind: 'switched'; to: ModelRef }
  | { kind: 'deleted'; model: ModelRef; rows: number }
  | { kind: 'idle' };

interface SourceRow {
  chunk_id: string;
  text: string;
  token_count: number;
}

/**
 * Fills in a model's vectors next to the active one and switches search over when every chunk has them.
 *
 * Each round takes one batch of chunks that lack the target model (keyset over chunk_id, `FOR NO KEY UPDATE
 * SKIP LOCKED` so several workers share the work), embeds their stored text with the target model (no
 * re-parsing), and inserts the new rows next to the old ones in the same transaction; a crash loses at most
 * the batch, which the next round takes again. When no chunk lacks it, one transaction retires the active
 * model and activates the new one. Retired rows are then deleted in batches, once their chunk has an active
 * row; a chunk that only has a retired row (a document finalized with the old model around the switch) is
 * embedded with the active model first, so nothing is ever left unsearchable for long.
 */
@Injectable()
export class ReembedService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Reembed');
  private readonly cursors = new Map<string, string>();
  private readonly stop = new AbortController();
  private running: Promise<void> | null = null;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly models: EmbeddingModelsService,
    @Inject(EMBEDDINGS_OPTIONS) private readonly opts: EmbeddingsOptions,
  ) {}

  onApplicationBootstrap(): void {
    if (this.opts.loop?.enabled) this.running = this.loop();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  /** One round of work (the loop calls it; so do the reembed command and tests). */
  async step(signal: AbortSignal = this.stop.signal): Promise<ReembedStep> {
    const { active, building } = await this.models.inUse(undefined, { fresh: true });
    const retired = await this.retiredWithRows();
    if (building) {
      const n = await this.embedMissing(building, [active, ...retired], signal);
      if (n > 0) return { kind: 'embedded', target: building, chunks: n };
      if (await this.trySwitch(building)) {
        this.models.invalidate();
        this.log.log(`every chunk has ${refLabel(building)}: search switched over from ${refLabel(active)}`);
        return { kind: 'switched', to: building };
      }
    }
    for (const r of retired) {
      const deleted = await this.deleteReplaced(r, active);
      if (deleted > 0) return { kind: 'deleted', model: r, rows: deleted };
      const n = await this.embedMissing(active, [r], signal);
      if (n > 0) return { kind: 'embedded', target: active, chunks: n };
    }
    return { kind: 'idle' };
  }

  private async loop(): Promise<void> {
    const signal = this.stop.signal;
    const idleMs = this.opts.loop?.idleMs ?? 2_000;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const s = await this.step(signal);
        failures = 0;
        if (s.kind !== 'idle') this.log.debug(`re-embedding round: ${JSON.stringify(s)}`);
        if (s.kind === 'idle') await sleep(idleMs, undefined, { signal });
      } catch (e) {
        if (signal.aborted) break;
        failures++;
        this.log.warn(`re-embedding round failed (${failures} in a row): ${(e as Error).message}`);
        await sleep(Math.min(60_000, idleMs * 2 ** Math.min(failures, 5)), undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** Embeds one batch of chunks that have a row of one of `sources` but none of `target`; returns how many. */
  private async embedMissing(target: EmbeddingModel, sources: readonly ModelRef[], signal: AbortSignal): Promise<number> {
    for (const source of sources) {
      const key = `${refLabel(target)}<-${refLabel(source)}`;
      for (let pass = 0; pass < 2; pass++) {
        const from = this.cursors.get(key) ?? FIRST;
        const n = await this.embedBatch(target, source, from, key, signal);
        if (n > 0) return n;
        this.cursors.delete(key);
        if (from === FIRST) break; // a whole pass found nothing
      }
    }
    return 0;
  }

  private async embedBatch(target: EmbeddingModel, source: ModelRef, from: string, key: string, signal: AbortSignal): Promise<number> {
    const limit = this.opts.loop?.batchSize ?? 256;
    const cast = await this.models.vectorCast();
    return this.ds.transaction(async (m) => {
      // The provider call happens with the rows locked; bound how long a stuck session may hold them.
      await m.query(`SET LOCAL idle_in_transaction_session_timeout = '5min'`);
      const rows = (await m.query(
        `SELECT c.chunk_id, c.text, c.token_count
         FROM ${CHUNKS} c
         WHERE c.embed_model = $1 AND c.embed_version = $2 AND c.chunk_id > $3
           AND NOT EXISTS (SELECT 1 FROM ${CHUNKS} t WHERE t.chunk_id = c.chunk_id AND t.embed_model = $4 AND t.embed_version = $5)
         ORDER BY c.chunk_id
         LIMIT $6
         FOR NO KEY UPDATE OF c SKIP LOCKED`,
        [source.model, source.version, from, target.model, target.version, limit],
      )) as SourceRow[];
      if (!rows.length) return 0;
      this.cursors.set(key, rows.length < limit ? FIRST : rows[rows.length - 1].chunk_id);

      const items = rows.map((r) => ({ id: r.chunk_id, text: r.text, tokens: Number(r.token_count) }));
      const ids: string[] = [];
      const vectors: string[] = [];
      for await (const { batch, result } of this.models.embedBatches(target, items, signal)) {
        batch.forEach((c, i) => {
          ids.push(c.id);
          vectors.push(Array.prototype.join.call(result.vectors[i], ','));
        });
      }
      await m.query(
        `INSERT INTO ${CHUNKS}
           (chunk_id, document_id, user_id, chunker, chunker_version, ord, text, chunk_sha, token_count,
            embed_model, embed_version, embedding, meta)
         SELECT s.chunk_id, s.document_id, s.user_id, s.chunker, s.chunker_version, s.ord, s.text, s.chunk_sha, s.token_count,
                $1, $2, string_to_array(t.vec, ',')::real[]${cast}, s.meta
         FROM unnest($3::uuid[], $4::text[]) AS t(id, vec)
         JOIN ${CHUNKS} s ON s.chunk_id = t.id AND s.embed_model = $5 AND s.embed_version = $6
         ON CONFLICT DO NOTHING`,
        [target.model, target.version, ids, vectors, source.model, source.version],
      );
      return rows.length;
    });
  }

  /** Activates `building` if every chunk has its row; the active model is retired in the same transaction. */
  private trySwitch(building: ModelRef): Promise<boolean> {
    return this.ds.transaction(async (m) => {
      const [row] = (await m.query(
        `SELECT state FROM ${MODELS} WHERE embed_model = $1 AND embed_version = $2 FOR UPDATE`,
        [building.model, building.version],
      )) as { state: string }[];
      if (row?.state !== 'building') return false;
      const [{ missing }] = (await m.query(
        `SELECT EXISTS (
           SELECT 1 FROM ${CHUNKS} c
           WHERE NOT EXISTS (SELECT 1 FROM ${CHUNKS} t WHERE t.chunk_id = c.chunk_id AND t.embed_model = $1 AND t.embed_version = $2)
         ) AS missing`,
        [building.model, building.version],
      )) as { missing: boolean }[];
      if (missing) return false;
      await m.query(`UPDATE ${MODELS} SET state = 'retired', retired_at = now(), updated_at = now() WHERE state = 'active'`);
      await m.query(
        `UPDATE ${MODELS} SET state = 'active', activated_at = now(), updated_at = now() WHERE embed_model = $1 AND embed_version = $2`,
        [building.model, building.version],
      );
      return true;
    });
  }

  /** Deletes a batch of a retired model's rows whose chunk has an active row. */
  private async deleteReplaced(retired: ModelRef, active: ModelRef): Promise<number> {
    const rows = (await this.ds.query(
      `WITH doomed AS (
         SELECT c.chunk_id FROM ${CHUNKS} c
         WHERE c.embed_model = $1 AND c.embed_version = $2
           AND EXISTS (SELECT 1 FROM ${CHUNKS} a WHERE a.chunk_id = c.chunk_id AND a.embed_model = $3 AND a.embed_version = $4)
         LIMIT $5
         FOR UPDATE OF c SKIP LOCKED
       ), gone AS (
         DELETE FROM ${CHUNKS} c USING doomed d
         WHERE c.chunk_id = d.chunk_id AND c.embed_model = $1 AND c.embed_version = $2
         RETURNING 1
       )
       SELECT count(*)::int AS n FROM gone`,
      [retired.model, retired.version, active.model, active.version, this.opts.loop?.deleteBatch ?? 2_000],
    )) as { n: number }[];
    return rows[0]?.n ?? 0;
  }

  private async retiredWithRows(): Promise<ModelRef[]> {
    const rows = (await this.ds.query(
      `SELECT m.embed_model, m.embed_version FROM ${MODELS} m
       WHERE m.state = 'retired'
         AND EXISTS (SELECT 1 FROM ${CHUNKS} c WHERE c.embed_model = m.embed_model AND c.embed_version = m.embed_version)
       ORDER BY m.retired_at`,
    )) as { embed_model: string; embed_version: number }[];
    return rows.map((r) => ({ model: r.embed_model, version: Number(r.embed_version) }));
  }
}
