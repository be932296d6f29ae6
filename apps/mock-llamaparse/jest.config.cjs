const preset = require('../../jest.preset.js');

const swc = preset.transform['^.+\\.[tj]s$'];

module.exports = {
  displayName: 'mock-llamaparse',
  preset: '../../jest.preset.js',
  coverageDirectory: '../../coverage/apps/mock-llamaparse',
  // No database: the mock keeps its jobs in memory.
  globalSetup: undefined,
  globalTeardown: undefined,
  // The first PDF of a run also compiles PDF.js (below) for Jest: allow for it on a busy machine.
  testTimeout: 30_000,
  // unpdf's CommonJS entry loads its ESM-only PDF.js bundle with a native `import()`, which Jest's VM cannot run
  // without --experimental-vm-modules. In tests only, both files are compiled to CommonJS by SWC and the
  // `unpdf/pdfjs` subpath (exported for `import` only) is mapped to its file. The built app uses Node's own loader.
  transform: {
    ...preset.transform,
    '^.+/node_modules/unpdf/dist/.+\\.(cjs|mjs)$': swc,
  },
  transformIgnorePatterns: ['/node_modules/(?!unpdf/)'],
  moduleNameMapper: {
    '^unpdf/pdfjs$': '<rootDir>/../../node_modules/unpdf/dist/pdfjs.mjs',
  },
};
