module.exports = {
  displayName: 'circuit-breaker',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/circuit-breaker',
};
