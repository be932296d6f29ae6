module.exports = {
  displayName: 'chunking',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/chunking',
};
