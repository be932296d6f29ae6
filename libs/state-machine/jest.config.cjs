module.exports = {
  displayName: 'state-machine',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/state-machine',
  // Pure functions: no database.
  globalSetup: undefined,
  globalTeardown: undefined,
};
