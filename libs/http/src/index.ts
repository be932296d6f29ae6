export * from './lib/api-error';
export * from './lib/error-codes';
export * from './lib/request-id.middleware';
export { AppValidationPipe, createValidationPipe, flattenValidationErrors, type ValidBodyCheck } from './lib/validation.pipe';
export * from './lib/all-exceptions.filter';
export * from './lib/body-parser-errors';
export * from './lib/http-defaults';
export * from './lib/close-on-signals';
