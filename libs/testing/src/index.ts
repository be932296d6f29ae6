export * from './lib/test-database';
export * from './lib/fixtures/documents';
export * from './lib/fuzz-client';
export * from './lib/embedding-models';
export * from './lib/image-pdf.builder';
export * from './lib/hostile-corpus';
export * from './lib/layout-pdf.builder';
export * from './lib/docx-table.builder';
