module.exports = {
  displayName: 'parser-client',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/parser-client',
};
