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
  // The same for llama-cloud-services' LlamaParseReader (used by the official-client tests only): its CommonJS
  // build loads the ESM-only p-retry (and p-retry its is-network-error) with `import()`.
  transform: {
    ...preset.transform,
    '^.+/node_modules/unpdf/dist/.+\\.(cjs|mjs)$': swc,
    '^.+/node_modules/llama-cloud-services/reader/dist/.+\\.cjs$': swc,
    '^.+/node_modules/(p-retry|is-network-error)/.+\\.js$': swc,
  },
  transformIgnorePatterns: ['/node_modules/(?!(unpdf|llama-cloud-services/reader|p-retry|is-network-error)/)'],
  moduleNameMapper: {
    '^unpdf/pdfjs$': '<rootDir>/../../node_modules/unpdf/dist/pdfjs.mjs',
  },
};
