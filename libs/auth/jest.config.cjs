module.exports = {
  displayName: 'auth',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/auth',
  // In-process Nest apps only: no database needed.
  globalSetup: undefined,
  globalTeardown: undefined,
};
