module.exports = {
  displayName: 'embedder-client',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/embedder-client',
};
