module.exports = {
  displayName: 'observability',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/observability',
  // No database: the DatabaseHealthIndicator is unit-tested against a fake query() object.
  globalSetup: undefined,
  globalTeardown: undefined,
};
