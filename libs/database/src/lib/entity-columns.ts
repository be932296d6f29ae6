import { DataSource, EntityTarget, ObjectLiteral } from 'typeorm';

/** An entity's columns selected under a prefix, and the row turned back into the entity as TypeORM would. */
export interface EntityColumns<T> {
  /** `alias."column" AS "prefixcolumn", ...` for a hand-written SELECT or RETURNING. */
  readonly select: string;
  /** The entity from a row holding the prefixed columns (values converted as TypeORM does). */
  hydrate(row: Record<string, unknown>): T;
}

/**
 * For statements that write and read in one round trip (CTEs with RETURNING, joins of two entities), where
 * TypeORM's query builder cannot express the statement but its entities should still come back typed.
 */
export function entityColumns<T extends ObjectLiteral>(
  ds: DataSource,
  entity: EntityTarget<T>,
  alias: string,
  prefix: string,
  opts: {
    /** Leave out the columns TypeORM does not select by default (`select: false`, e.g. the job's webhook secret). */
    defaultSelectOnly?: boolean;
  } = {},
): EntityColumns<T> {
  const metadata = ds.getMetadata(entity);
  const columns = opts.defaultSelectOnly ? metadata.columns.filter((c) => c.isSelect) : metadata.columns;
  return {
    select: columns.map((c) => `${alias}."${c.databaseName}" AS "${prefix}${c.databaseName}"`).join(', '),
    hydrate: (row) => {
      const out = metadata.create() as T;
      for (const c of columns) c.setEntityValue(out, ds.driver.prepareHydratedValue(row[prefix + c.databaseName], c));
      return out;
    },
  };
}
