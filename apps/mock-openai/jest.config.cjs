module.exports = {
  displayName: 'mock-openai',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/mock-openai',
};
