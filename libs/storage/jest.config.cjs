module.exports = {
  displayName: 'storage',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/storage',
  // Unit tests only (filesystem in temp dirs, S3 over a capturing request handler): no database.
  globalSetup: undefined,
  globalTeardown: undefined,
};
