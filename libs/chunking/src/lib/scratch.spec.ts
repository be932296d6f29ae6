import { chunkMarkdown } from './chunker';
import { countTokens } from './tokenizer';
function gen(seed: number, size: number): string {
  let x = seed; const rnd = () => { x = (x * 1103515245 + 12345) & 0x7fffffff; return x / 0x7fffffff; };
  const words = 'the of and to in is was for on that with as by at from it an be this which or are have not but had his they you were her she there been one all we their can has more if will would about when so no out up into them some could than other time what only new its also these two may first then any like my now over such our man me even most made after way many through down should because each just'.split(' ');
  const sentence = () => { const n = 5 + Math.floor(rnd() * 20); const w: string[] = []; for (let i = 0; i < n; i++) w.push(words[Math.floor(rnd() * words.length)]); const s = w.join(' '); return s[0].toUpperCase() + s.slice(1) + '.'; };
  const parts: string[] = []; let len = 0; let h = 0;
  while (len < size) {
    const r = rnd(); let p: string;
    if (r < 0.08) p = '#'.repeat(1 + Math.floor(rnd() * 3)) + ' Section ' + (h++);
    else if (r < 0.6) { const n = 1 + Math.floor(rnd() * 8); p = Array.from({ length: n }, sentence).join(' ' ); }
    else if (r < 0.75) p = Array.from({ length: 2 + Math.floor(rnd() * 6) }, () => '- ' + sentence()).join('\n');
    else if (r < 0.85) p = '```ts\n' + Array.from({ length: 3 + Math.floor(rnd() * 30) }, (_, i) => `  const v${i} = compute(${i}, "${sentence()}");`).join('\n') + '\n```';
    else p = '| a | b | c |\n|---|---|---|\n' + Array.from({ length: 2 + Math.floor(rnd() * 20) }, () => `| ${sentence()} | ${Math.floor(rnd() * 1e6)} | x |`).join('\n');
    parts.push(p); len += p.length + 2;
  }
  return parts.join('\n\n');
}
const log = (...a: unknown[]) => process.stderr.write(a.join(' ') + '\n');
it('bench', () => {
  const md = gen(1, 1_000_000);
  let t = Date.now(); const total = countTokens(md); const tc = Date.now() - t;
  for (let k = 0; k < 3; k++) { t = Date.now(); const c = chunkMarkdown(md, { documentId: 'd' }); log('1MB mixed', Date.now() - t, 'ms chunks', c.length, 'tokens', total, 'count-only ms', tc, 'max', Math.max(...c.map(x => x.tokenCount)) ); }
  t = Date.now(); const c2 = chunkMarkdown(md, { documentId: 'd', overlapTokens: 64 }); log('1MB overlap64', Date.now() - t, c2.length);
  const cjk = '漢字仮名交じり文の試験です。これは日本語。'.repeat(50000).slice(0, 333_000);
  t = Date.now(); const c3 = chunkMarkdown(cjk, { documentId: 'd' }); log('1MB-utf8 CJK', Date.now() - t, c3.length);
  const huge = 'x7'.repeat(500_000);
  t = Date.now(); const c4 = chunkMarkdown(huge, { documentId: 'd' }); log('1MB single word', Date.now() - t, c4.length);
  const hugeA = 'a'.repeat(1_000_000);
  t = Date.now(); const c5 = chunkMarkdown(hugeA, { documentId: 'd' }); log('1MB aaaa', Date.now() - t, c5.length);
  const small = gen(7, 3000);
  t = Date.now(); let n = 0; for (let k = 0; k < 3000; k++) n += chunkMarkdown(small + k, { documentId: 'doc' + k }).length; log('3000 x 3KB docs', Date.now() - t, 'ms', n);
}, 120000);
