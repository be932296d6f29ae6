import { loadConfig } from '@app/config';
import { INestApplication } from '@nestjs/common';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { MockLlamaParseConfig } from '../../src/app.config';
import { createApp } from '../../src/app.factory';

export interface TestApp {
  app: INestApplication;
  http: Server;
  close(): Promise<void>;
}

/** Builds the real app from `env` (validated as in main.ts), silent, initialised but not listening. */
export async function startTestApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig(MockLlamaParseConfig, env, 'mock-llamaparse');
  const app = await createApp(config, { logLevel: 'silent' });
  await app.init();
  return { app, http: app.getHttpServer() as Server, close: () => app.close() };
}

export interface JobStatusBody {
  id: string;
  status: string;
  error_code?: string;
  error_message?: string;
}

/** Polls the job status until it leaves PENDING (or `timeoutMs` passes). */
export async function waitForJob(http: Server, id: string, auth?: string, timeoutMs = 20_000): Promise<JobStatusBody> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const req = request(http).get(`/api/v1/parsing/job/${id}`);
    if (auth) req.set('Authorization', `Bearer ${auth}`);
    const res = await req;
    if (res.status !== 200) throw new Error(`status poll answered ${res.status}: ${res.text}`);
    const body = res.body as JobStatusBody;
    if (body.status !== 'PENDING') return body;
    if (Date.now() > deadline) throw new Error(`job ${id} still PENDING after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface ListeningTestApp extends TestApp {
  /** `http://127.0.0.1:<port>`: the app listens on loopback only, on a free port. */
  baseUrl: string;
}

/** {@link startTestApp}, listening on 127.0.0.1 (for clients that need a URL, such as the official SDKs). */
export async function startListeningTestApp(env: Record<string, string> = {}): Promise<ListeningTestApp> {
  const config = loadConfig(MockLlamaParseConfig, env, 'mock-llamaparse');
  const app = await createApp(config, { logLevel: 'silent' });
  await app.listen(0, '127.0.0.1');
  const http = app.getHttpServer() as Server;
  const { port } = http.address() as AddressInfo;
  return { app, http, baseUrl: `http://127.0.0.1:${port}`, close: () => app.close() };
}
