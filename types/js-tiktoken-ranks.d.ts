// js-tiktoken publishes its rank files only through package.json "exports", which TypeScript's
// moduleResolution "node" (tsconfig.base.json) does not read; Node, Jest and webpack resolve the
// subpath at run time. One declaration for the whole workspace (every project includes types/).
declare module 'js-tiktoken/ranks/cl100k_base' {
  import type { TiktokenBPE } from 'js-tiktoken/lite';
  const ranks: TiktokenBPE;
  export default ranks;
}
