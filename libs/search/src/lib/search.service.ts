import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { classifyError, PermanentError, TransientError } from '@app/errors';
import { EmbeddingStorage, readEmbeddingSettings } from '@app/database';
import type { Embedder } from '@app/embedder-client';
import { EmbeddingModelsService } from '@app/embeddings';
import { buildHybridSearchSql, buildVectorSearchSql, SearchRow, SearchSql } from './search-sql';

export type SearchMode = 'vector' | 'hybrid';

export interface SearchQuery {
  query: string;
  topK: number;
  documentIds?: string[];
  mode: SearchMode;
}

export interface SearchResponse {
  results: SearchRow[];
  /** The active embedding model: the query was embedded with it and only its vectors were searched. */
  model: string;
  model_version: number;
}

/** Embedding the query failed; `upstream` says whether it is worth retrying (transient) or not. */
export class QueryEmbeddingError extends Error {
  constructor(readonly upstream: TransientError | PermanentError) {
    super(`query embedding failed: ${upstream.message}`, { cause: upstream });
    this.name = 'QueryEmbeddingError';
  }
}

interface StorageSettings {
  storage: EmbeddingStorage;
  dimensions: number | null;
  iterativeScan: boolean;
}

/** pgvector >= 0.8.0 has hnsw.iterative_scan. */
export function supportsIterativeScan(extversion: string | null | undefined): boolean {
  const m = /^(\d+)\.(\d+)/.exec(extversion ?? '');
  return !!m && (Number(m[1]) > 0 || Number(m[2]) >= 8);
}

/**
 * Semantic search over the caller's own chunks: embeds the query with the active embedding model (see
 * @app/embeddings; the worker embeds chunks with it), then ranks that model's chunks by cosine similarity (pgvector or exact real[]
 * cosine, as the migration chose), or fuses that ranking with full text (hybrid).
 */
@Injectable()
export class SearchService {
  private settings: Promise<StorageSettings> | null = null;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly models: EmbeddingModelsService,
  ) {}

  async search(userId: string, q: SearchQuery): Promise<SearchResponse> {
    const settings = await this.storageSettings();
    // Read per search: a re-embedding's switch-over applies to the next query in every api process.
    const active = await this.models.active();
    const vector = await this.embedQuery(this.models.embedderFor(active), q.query);
    if (settings.dimensions !== null && settings.dimensions !== vector.length) {
      throw new Error(`the embedder returned ${vector.length} dimensions; the database stores ${settings.dimensions}`);
    }
    const o = {
      vector,
      userId,
      embedModel: active.model,
      embedVersion: active.version,
      topK: q.topK,
      documentIds: q.documentIds,
      queryText: q.query,
      iterativeScan: settings.iterativeScan,
    };
    const built = q.mode === 'hybrid' ? buildHybridSearchSql(settings.storage, o) : buildVectorSearchSql(settings.storage, o);
    return { results: await this.run(built), model: active.model, model_version: active.version };
  }

  private async embedQuery(embedder: Embedder, query: string): Promise<number[]> {
    try {
      const { vectors } = await embedder.embed([query]);
      return Array.from(vectors[0]);
    } catch (e) {
      throw new QueryEmbeddingError(classifyError(e, 'embedder'));
    }
  }

  private async run(q: SearchSql): Promise<SearchRow[]> {
    const rows = (q.prelude.length
      ? await this.ds.transaction(async (m) => {
          for (const s of q.prelude) await m.query(s);
          return m.query(q.sql, q.params);
        })
      : await this.ds.query(q.sql, q.params)) as SearchRow[];
    const page = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
    return rows.map((r) => ({ ...r, ord: Number(r.ord), score: Number(r.score), page_start: page(r.page_start), page_end: page(r.page_end) }));
  }

  /** Read once: how the migration stored embeddings (and what the pgvector extension can do). */
  private storageSettings(): Promise<StorageSettings> {
    this.settings ??= (async () => {
      const s = await readEmbeddingSettings(this.ds);
      let iterativeScan = false;
      if (s.storage === 'pgvector') {
        const rows = (await this.ds.query(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`)) as { extversion: string }[];
        iterativeScan = supportsIterativeScan(rows[0]?.extversion);
      }
      return { storage: s.storage, dimensions: s.dimensions, iterativeScan };
    })().catch((e: unknown) => {
      this.settings = null;
      throw e;
    });
    return this.settings;
  }
}
