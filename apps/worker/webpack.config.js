const { NxAppWebpackPlugin } = require('@nx/webpack/app-plugin');
const { join } = require('node:path');

// Bundles the app with the libs it imports (path aliases resolved); node_modules stay external.
module.exports = {
  output: { path: join(__dirname, '../../dist/apps/worker'), clean: true },
  // The chunking worker threads' entry (piscina), emitted as chunk-worker.js next to main.js (ChunkingPool finds it with
  // join(__dirname, 'chunk-worker.js')). It must export its handler (piscina requires the file and calls `default`).
  entry: {
    'chunk-worker': {
      import: join(__dirname, '../../libs/pipeline/src/lib/chunking.worker.ts'),
      library: { type: 'commonjs2' },
    },
  },
  devtool: 'source-map',
  plugins: [
    new NxAppWebpackPlugin({
      target: 'node',
      compiler: 'tsc',
      main: './src/main.ts',
      tsConfig: './tsconfig.app.json',
      assets: [],
      optimization: false,
      outputHashing: 'none',
      generatePackageJson: false,
      sourceMap: true,
    }),
  ],
};
