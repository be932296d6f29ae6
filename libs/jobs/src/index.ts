export * from './lib/jobs.module';
export * from './lib/job-transitions.service';
export * from './lib/uploads.service';
export * from './lib/keyset-cursor';
export * from './lib/jobs-query.service';
export * from './lib/parser-webhook.service';
export * from './lib/documents.service';
export * from './lib/documents.module';
