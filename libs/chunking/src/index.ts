export * from './lib/normalize';
export * from './lib/tokenizer';
export * from './lib/chunker';
export { scanBlocks, type BlockKind, type MarkdownBlock } from './lib/markdown-blocks';
