module.exports = {
  displayName: 'state-machine',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/state-machine',
};
