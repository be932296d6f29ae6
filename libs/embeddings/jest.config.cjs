module.exports = {
  displayName: 'embeddings',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/embeddings',
};
