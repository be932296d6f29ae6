import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { classifyError, PermanentError, TransientError } from '@app/circuit-breaker';
import { EmbeddingStorage, readEmbeddingSettings } from '@app/database';
import { EMBEDDER, Embedder } from '@app/embedder-client';
import { buildHybridSearchSql, buildVectorSearchSql, SearchRow, SearchSql } from './search-sql';

export const SEARCH_OPTIONS = Symbol('SEARCH_OPTIONS');

export interface SearchOptions {
  /** Chunks of this model and version are searched (the ones the worker writes now). */
  embedModel: string;
  embedVersion: number;
}

export type SearchMode = 'vector' | 'hybrid';

export interface SearchQuery {
  query: string;
  topK: number;
  documentIds?: string[];
  mode: SearchMode;
}

export interface SearchResponse {
  results: SearchRow[];
  model: string;
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
 * Semantic search over the caller's own chunks: embeds the query with the same embedder as the worker,
 * then ranks the chunks of the current model/version by cosine similarity (pgvector or exact real[]
 * cosine, as the migration chose), or fuses that ranking with full text (hybrid).
 */
@Injectable()
export class SearchService {
  private settings: Promise<StorageSettings> | null = null;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(EMBEDDER) private readonly embedder: Embedder,
    @Inject(SEARCH_OPTIONS) private readonly opts: SearchOptions,
  ) {}

  async search(userId: string, q: SearchQuery): Promise<SearchResponse> {
    const settings = await this.storageSettings();
    const vector = await this.embedQuery(q.query);
    if (settings.dimensions !== null && settings.dimensions !== vector.length) {
      throw new Error(`the embedder returned ${vector.length} dimensions; the database stores ${settings.dimensions}`);
    }
    const o = {
      vector,
      userId,
      embedModel: this.opts.embedModel,
      embedVersion: this.opts.embedVersion,
      topK: q.topK,
      documentIds: q.documentIds,
      queryText: q.query,
      iterativeScan: settings.iterativeScan,
    };
    const built = q.mode === 'hybrid' ? buildHybridSearchSql(settings.storage, o) : buildVectorSearchSql(settings.storage, o);
    return { results: await this.run(built), model: this.opts.embedModel };
  }

  private async embedQuery(query: string): Promise<number[]> {
    try {
      const { vectors } = await this.embedder.embed([query]);
      return vectors[0];
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
    return rows.map((r) => ({ ...r, ord: Number(r.ord), score: Number(r.score) }));
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
