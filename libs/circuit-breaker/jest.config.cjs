module.exports = {
  displayName: 'circuit-breaker',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/circuit-breaker',
  // Pure unit tests: no database needed.
  globalSetup: undefined,
  globalTeardown: undefined,
};
