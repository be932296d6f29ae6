export * from './lib/normalize';
export * from './lib/tokenizer';
export * from './lib/chunker';
export * from './lib/page-markers';
export { scanBlocks, type BlockKind, type MarkdownBlock } from './lib/markdown-blocks';
