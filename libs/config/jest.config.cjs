module.exports = {
  displayName: 'config',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/config',
  // Pure unit tests: no database needed.
  globalSetup: undefined,
  globalTeardown: undefined,
};
