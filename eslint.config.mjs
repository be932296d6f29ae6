import nx from '@nx/eslint-plugin';

const NON_FEATURE = ['type:data', 'type:domain', 'type:util', 'type:testing'];

/**
 * Who may import whom. Three independent sets of tags, each checked on its own:
 * - type: apps on libs, never the other way; mocks only on utilities (never on the pipeline's libs);
 * - scope: what runs where. `scope:api` and `scope:worker` libs serve one app; `scope:shared` libs both, and they
 *   depend on shared libs only (so the api never pulls in the pipeline, nor the worker the api's search or auth);
 * - layer: the order of the feature libs. `layer:client` (one outside service or store behind an interface) <
 *   `layer:service` (the database's services over it: the job store, the embedding models) < `layer:flow` (what a
 *   request or a job runs through: search, the pipeline). A feature lib depends only on layers below its own.
 * `extra` widens a scope for a set of files (tests that run more than their app).
 */
function moduleBoundaries(extra = {}) {
  const scope = (tag, allowed) => ({ sourceTag: tag, onlyDependOnLibsWithTags: [...allowed, ...(extra[tag] ?? [])] });
  return {
    enforceBuildableLibDependency: true,
    banTransitiveDependencies: false,
    allow: [],
    depConstraints: [
      { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:feature', ...NON_FEATURE] },
      { sourceTag: 'type:mock', onlyDependOnLibsWithTags: ['type:util', 'type:testing'] },
      { sourceTag: 'type:feature', onlyDependOnLibsWithTags: ['type:feature', ...NON_FEATURE] },
      { sourceTag: 'type:data', onlyDependOnLibsWithTags: ['type:domain', 'type:util', 'type:testing'] },
      { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'] },
      { sourceTag: 'type:util', onlyDependOnLibsWithTags: ['type:util'] },
      { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:util'] },

      scope('scope:api', ['scope:api', 'scope:shared']),
      scope('scope:worker', ['scope:worker', 'scope:shared']),
      scope('scope:mock', ['scope:shared']),
      scope('scope:shared', ['scope:shared']),

      { sourceTag: 'layer:flow', onlyDependOnLibsWithTags: ['layer:service', 'layer:client', ...NON_FEATURE] },
      { sourceTag: 'layer:service', onlyDependOnLibsWithTags: ['layer:client', ...NON_FEATURE] },
      { sourceTag: 'layer:client', onlyDependOnLibsWithTags: NON_FEATURE },
    ],
  };
}

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  {
    ignores: ['**/dist', '**/node_modules', '**/tmp', '**/.data', '**/.nx', '**/coverage', '**/test-artifacts'],
  },
  {
    files: ['**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', moduleBoundaries()] },
  },
  {
    // The worker's stack tests run the api as well (tokens, search answers): they may read the api's libs.
    files: ['apps/worker/test/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': ['error', moduleBoundaries({ 'scope:worker': ['scope:api'] })] },
  },
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-inferrable-types': ['error', { ignoreProperties: true, ignoreParameters: true }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through @app/config, validated once at start.',
        },
      ],
    },
  },
  {
    files: ['**/*.spec.ts', '**/*.int-spec.ts', '**/*.e2e-spec.ts', '**/test/**/*.ts', '**/src/main.ts', 'libs/config/**/*.ts', 'libs/testing/**/*.ts', 'tools/**/*'],
    rules: { 'no-restricted-properties': 'off' },
  },
];
