// The peer side of tools/bench/peer.mjs, run as its own process (so its CPU is its own): LlamaIndex's TypeScript
// IngestionPipeline over the generated documents, parsed by LlamaParseReader (llama-cloud-services) at
// mock-llamaparse, split by SentenceSplitter, embedded by OpenAIEmbedding at mock-openai, with a
// SimpleDocumentStore and a SimpleVectorStore persisted to a directory (the durable stores LlamaIndex offers
// here: its PGVectorStore needs the pgvector extension, which the embedded PostgreSQL lacks).
//
// Protocol (IPC with the parent): the parent forks this with a JSON config in argv[2]; this process loads its
// modules and the documents, sends {type:'ready'}, waits for {type:'go'}, ingests, sends {type:'done', ...} and
// exits. Only the ingest is timed: module loading and reading the files happen before 'ready'.
//
// How it ingests: parses with up to `parseConcurrency` documents in flight (one LlamaParseReader.loadDataAsContent
// each, document id = file name so the docstore's upserts strategy can dedupe on a re-run), and one consumer runs
// pipeline.run() on whatever parsed documents are waiting (up to `maxBatch`), one run at a time: the Simple stores
// rewrite their whole JSON file on every put, and two runs at once would write the same file concurrently.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OpenAIEmbedding } from '@llamaindex/openai';
import { LlamaParseReader } from 'llama-cloud-services/reader';
import { DocStoreStrategy, IngestionPipeline } from 'llamaindex/ingestion';
import { SentenceSplitter } from 'llamaindex/node-parser';
import { SimpleDocumentStore } from 'llamaindex/storage';
import { SimpleVectorStore } from 'llamaindex/vector-store';

const cfg = JSON.parse(process.argv[2]);
const send = (m) => new Promise((res) => process.send(m, res));

const files = (await readdir(cfg.docsDir)).filter((f) => f.endsWith('.md')).sort();
const contents = await Promise.all(files.map((f) => readFile(join(cfg.docsDir, f))));

const reader = new LlamaParseReader({
  apiKey: 'llx-bench-peer',
  baseUrl: cfg.parserUrl,
  resultType: 'markdown',
  // the mock answers fast; LlamaParseReader's default first check is after 1 s
  checkInterval: cfg.checkIntervalS,
  maxCheckInterval: cfg.checkIntervalS * 4,
  verbose: false,
  ignoreErrors: false,
});
const embedModel = new OpenAIEmbedding({
  model: 'text-embedding-3-small',
  dimensions: cfg.dimensions,
  apiKey: 'sk-bench-peer',
  baseURL: cfg.embedderUrl,
  embedBatchSize: cfg.embedBatchSize,
});
const docStore = await SimpleDocumentStore.fromPersistDir(join(cfg.storeDir, 'docstore'));
const vectorStore = await SimpleVectorStore.fromPersistDir(join(cfg.storeDir, 'vectors'), embedModel);
const pipeline = new IngestionPipeline({
  transformations: [new SentenceSplitter({ chunkSize: cfg.chunkSize, chunkOverlap: cfg.chunkOverlap }), embedModel],
  docStore,
  vectorStore,
  docStoreStrategy: DocStoreStrategy.UPSERTS,
  disableCache: true,
});

await send({ type: 'ready', documents: files.length });
await new Promise((res) => process.once('message', (m) => m?.type === 'go' && res()));

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const doneAt = [];
let nodes = 0;
let failed = 0;
const errors = [];
const parsed = [];
let parsing = files.length;
let wake = null;
const notify = () => {
  wake?.();
  wake = null;
};

// producers: parse with `parseConcurrency` in flight
let next = 0;
const parseOne = async () => {
  while (next < files.length) {
    const i = next++;
    try {
      const docs = await reader.loadDataAsContent(new Uint8Array(contents[i]), files[i]);
      docs.forEach((d, p) => (d.id_ = docs.length > 1 ? `${files[i]}#${p + 1}` : files[i]));
      parsed.push({ i, docs });
    } catch (e) {
      failed++;
      if (errors.length < 5) errors.push(`parse ${files[i]}: ${e.message}`);
    }
    parsing--;
    notify();
  }
};
const producers = Array.from({ length: Math.min(cfg.parseConcurrency, files.length) }, parseOne);

// the consumer: one pipeline.run at a time over what has been parsed
const consume = async () => {
  for (;;) {
    if (!parsed.length) {
      if (parsing === 0) return;
      await new Promise((res) => (wake = res));
      continue;
    }
    const batch = parsed.splice(0, cfg.maxBatch);
    try {
      const out = await pipeline.run({ documents: batch.flatMap((b) => b.docs) });
      nodes += out.length;
      const at = performance.now() - t0;
      for (let k = 0; k < batch.length; k++) doneAt.push(at);
    } catch (e) {
      failed += batch.length;
      if (errors.length < 5) errors.push(`pipeline.run: ${e.message}`);
    }
  }
};
await Promise.all([...producers, consume()]);

const wallMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
await send({
  type: 'done',
  documents: files.length,
  complete: doneAt.length,
  failed,
  errors,
  nodes,
  wall_ms: wallMs,
  done_at_ms: doneAt,
  cpu_ms: (cpu.user + cpu.system) / 1000,
  rss_mib: process.memoryUsage().rss / 2 ** 20,
  vectors_stored: Object.keys(vectorStore.toDict?.().embeddingDict ?? {}).length,
  docstore_docs: Object.keys(await docStore.docs()).length,
});
process.exit(0);
