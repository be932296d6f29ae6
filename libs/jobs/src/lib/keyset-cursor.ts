import type { SelectQueryBuilder, ObjectLiteral } from 'typeorm';

export class InvalidCursorError extends Error {
  constructor() {
    super('invalid cursor');
    this.name = 'InvalidCursorError';
  }
}

/** j = jobs, d = documents: a cursor of one list is refused by the other. */
export type CursorKind = 'j' | 'd';

export interface CursorKey {
  id: string;
  /** The row's created_at in microseconds since the epoch (exact, as PostgreSQL stores it). */
  micros: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MICROS = /^-?\d{1,19}$/;

/**
 * The cursor names the last row of the page by its exact (created_at, id). It carries the timestamp
 * (in microseconds, which a JavaScript Date could not hold) so paging goes on even after that row was
 * deleted.
 */
export function encodeCursor(kind: CursorKind, key: CursorKey): string {
  return Buffer.from(`${kind}:${key.id}:${key.micros}`, 'utf8').toString('base64url');
}

export function decodeCursor(kind: CursorKind, cursor: string): CursorKey {
  const [k, id, micros, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split(':');
  if (k !== kind || rest.length || !UUID.test(id ?? '') || !MICROS.test(micros ?? '')) throw new InvalidCursorError();
  return { id, micros };
}

/** SQL: `alias.created_at` as exact microseconds since the epoch (text). */
export function createdAtMicrosSql(alias: string): string {
  return `(extract(epoch from ${alias}.created_at) * 1000000)::bigint::text`;
}

/**
 * Newest first, keyset-paginated on (created_at, id): applies order, limit + 1 (to know whether a next
 * page exists) and the cursor; returns the page and the next cursor.
 */
export async function keysetPage<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  o: { alias: string; idColumn: string; idOf: (row: T) => string; kind: CursorKind; limit: number; cursor?: string },
): Promise<{ items: T[]; nextCursor: string | null }> {
  const { alias, idColumn } = o;
  qb.addSelect(createdAtMicrosSql(alias), 'cursor_micros')
    .orderBy(`${alias}.created_at`, 'DESC')
    .addOrderBy(`${alias}.${idColumn}`, 'DESC')
    .limit(o.limit + 1);
  if (o.cursor) {
    const c = decodeCursor(o.kind, o.cursor);
    qb.andWhere(
      `(${alias}.created_at, ${alias}.${idColumn}) < (timestamptz 'epoch' + CAST(:cursorMicros AS bigint) * interval '1 microsecond', :cursorId)`,
      { cursorMicros: c.micros, cursorId: c.id },
    );
  }
  const { entities, raw } = await qb.getRawAndEntities<{ cursor_micros: string }>();
  const items = entities.slice(0, o.limit);
  const last = items[items.length - 1];
  // one raw row per entity here (no joins), in the same order
  const micros = last ? raw[items.length - 1]?.cursor_micros : undefined;
  return { items, nextCursor: entities.length > o.limit && last && micros ? encodeCursor(o.kind, { id: o.idOf(last), micros }) : null };
}
