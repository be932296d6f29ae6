export * from './lib/search-sql';
export * from './lib/search.service';
export * from './lib/search.module';
