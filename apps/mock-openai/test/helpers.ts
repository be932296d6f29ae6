import { loadConfig } from '@app/config';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Server } from 'node:http';
import request from 'supertest';
import { AppConfig } from '../src/app.config';
import { createApp } from '../src/app.factory';

export const API_KEY = 'sk-test-0123456789abcdef';
export const AUTH = { Authorization: `Bearer ${API_KEY}` };
export const SMALL = 'text-embedding-3-small';

export interface TestApp {
  app: NestExpressApplication;
  http: () => ReturnType<typeof request>;
  close: () => Promise<void>;
}

/** A mock-openai app built from env-style settings (through the real config loader), not listening. */
export async function startApp(env: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig(AppConfig, { MOCK_OPENAI_API_KEY: API_KEY, ...env });
  const app = await createApp(config, { logger: false });
  const server = app.getHttpServer() as Server;
  return { app, http: () => request(server), close: () => app.close() };
}

/** Asserts OpenAI's error shape and returns the error object. */
export function expectOpenAIError(body: unknown): { message: string; type: string; param: string | null; code: string | null } {
  expect(Object.keys(body as object)).toEqual(['error']);
  const error = (body as { error: { message: string; type: string; param: string | null; code: string | null } }).error;
  expect(Object.keys(error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof error.message).toBe('string');
  expect(error.message.length).toBeGreaterThan(0);
  expect(typeof error.type).toBe('string');
  for (const v of [error.param, error.code]) expect(v === null || typeof v === 'string').toBe(true);
  return error;
}

export const RATE_LIMIT_HEADERS = [
  'x-ratelimit-limit-requests',
  'x-ratelimit-remaining-requests',
  'x-ratelimit-reset-requests',
  'x-ratelimit-limit-tokens',
  'x-ratelimit-remaining-tokens',
  'x-ratelimit-reset-tokens',
];

/** A text of exactly `tokens` cl100k tokens (" hello" is one token and repeats cleanly). */
export function textOfTokens(tokens: number): string {
  return ' hello'.repeat(tokens);
}
