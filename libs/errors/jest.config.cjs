module.exports = {
  displayName: 'errors',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/errors',
  // Pure unit tests: no database needed.
  globalSetup: undefined,
  globalTeardown: undefined,
};
