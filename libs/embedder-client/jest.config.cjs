module.exports = {
  displayName: 'embedder-client',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/embedder-client',
  // Unit and wire tests (tiny node:http servers): no database needed.
  globalSetup: undefined,
  globalTeardown: undefined,
};
