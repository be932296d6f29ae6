module.exports = {
  displayName: 'parser-client',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/parser-client',
  // Wire tests against tiny node:http servers: no database needed.
  globalSetup: undefined,
  globalTeardown: undefined,
};
