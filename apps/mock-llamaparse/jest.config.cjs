module.exports = {
  displayName: 'mock-llamaparse',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/mock-llamaparse',
};
