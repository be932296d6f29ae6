module.exports = {
  displayName: 'worker',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/worker',
  // Integration tests run the real apps as processes: give them time to start and finish.
  testTimeout: 120_000,
};
