module.exports = {
  displayName: 'mock-openai',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/mock-openai',
  // No database: the mock is self-contained.
  globalSetup: undefined,
  globalTeardown: undefined,
};
