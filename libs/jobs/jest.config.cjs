module.exports = {
  displayName: 'jobs',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/jobs',
};
