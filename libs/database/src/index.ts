export * from './lib/schema';
export * from './lib/entities';
export * from './lib/data-source';
export * from './lib/entity-columns';
export * from './lib/database.module';
export { buildMigrations } from './lib/migrations';
export type { MigrationOptions } from './lib/migrations';
export * from './lib/prepared-query';
export * from './lib/async-commit';
