const preset = require('../../jest.preset.js');

module.exports = {
  displayName: 'search',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/libs/search',
  // PGlite (search.pgvector.int-spec.ts) loads node built-ins with import(), which Jest's VM refuses
  // without --experimental-vm-modules: SWC turns those into require() when it transforms the package.
  transform: { '^.+/node_modules/@electric-sql/.+\\.c?js$': preset.transform['^.+\\.[tj]s$'], ...preset.transform },
  transformIgnorePatterns: ['/node_modules/(?!@electric-sql/)'],
};
