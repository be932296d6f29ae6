export * from './lib/stages';
export * from './lib/transitions';
export * from './lib/retry-policy';
export * from './lib/claim-rules';
