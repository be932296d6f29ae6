module.exports = {
  displayName: 'http',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/http',
  // In-process Nest apps only: no database needed.
  globalSetup: undefined,
  globalTeardown: undefined,
};
