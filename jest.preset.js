const nxPreset = require('@nx/jest/preset').default;

/** Shared Jest settings: SWC transform with decorator metadata (NestJS, TypeORM). */
module.exports = {
  ...nxPreset,
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: {
    '^.+\\.[tj]s$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          target: 'es2022',
          keepClassNames: true,
        },
        module: { type: 'commonjs' },
        sourceMaps: 'inline',
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/'],
  testMatch: ['**/?(*.)+(spec|int-spec|e2e-spec).ts'],
  reporters: ['default', '<rootDir>/../../tools/test/summary-reporter.cjs'],
  globalSetup: '<rootDir>/../../tools/test/global-setup.mjs',
  globalTeardown: '<rootDir>/../../tools/test/global-teardown.mjs',
};
