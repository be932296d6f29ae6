/**
 * unpdf is loaded on first use. `import('unpdf')` compiles to `require('unpdf')`, which webpack leaves external:
 * at runtime Node loads unpdf's CommonJS entry, and that entry loads the ESM-only PDF.js bundle (`unpdf/pdfjs`)
 * with Node's own `import()` from node_modules, outside the webpack bundle. (Tests: see jest.config.cjs.)
 */
export type Unpdf = typeof import('unpdf');

let loading: Promise<Unpdf> | undefined;

export function loadUnpdf(): Promise<Unpdf> {
  loading ??= import('unpdf').catch((e: unknown) => {
    loading = undefined;
    throw e;
  });
  return loading;
}
