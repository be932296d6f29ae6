module.exports = {
  displayName: 'chunking',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/chunking',
  // Pure unit tests: no database needed.
  globalSetup: undefined,
  globalTeardown: undefined,
};
