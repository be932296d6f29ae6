import { createServer, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

export type FakeReply = { status: number; body: unknown; headers?: Record<string, string> };

/**
 * An OpenAI embeddings endpoint whose vectors the test chooses: `vectors[text]` is returned for
 * `text` (base64 float32 when the client asks for it, as the SDK does). `fail` makes every request
 * answer with that status and body instead. Unknown texts are a 400, so a test cannot pass by accident.
 */
export interface FakeOpenAi {
  baseUrl: string;
  vectors: Map<string, number[]>;
  /** Inputs received, one entry per request. */
  calls: string[][];
  fail: FakeReply | null;
  close(): Promise<void>;
}

function send(res: ServerResponse, r: FakeReply): void {
  res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
  res.end(JSON.stringify(r.body));
}

export const openAiError = (status: number, message: string, code: string | null, headers?: Record<string, string>): FakeReply => ({
  status,
  body: { error: { message, type: status === 429 ? 'requests' : 'invalid_request_error', param: null, code } },
  headers,
});

export async function startFakeOpenAi(): Promise<FakeOpenAi> {
  const fake: Omit<FakeOpenAi, 'baseUrl' | 'close'> = { vectors: new Map(), calls: [], fail: null };
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      const body = (raw ? JSON.parse(raw) : {}) as { input?: string | string[]; model?: string; encoding_format?: string };
      const input = typeof body.input === 'string' ? [body.input] : (body.input ?? []);
      fake.calls.push(input);
      if (fake.fail) return send(res, fake.fail);
      const unknown = input.find((t) => !fake.vectors.has(t));
      if (unknown !== undefined) return send(res, openAiError(400, `no vector for ${JSON.stringify(unknown)}`, 'unknown_text'));
      const data = input.map((t, index) => {
        const v = fake.vectors.get(t) ?? [];
        const embedding = body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v;
        return { object: 'embedding', index, embedding };
      });
      send(res, { status: 200, body: { object: 'list', data, model: body.model, usage: { prompt_tokens: input.length, total_tokens: input.length } } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return Object.assign(fake, {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
