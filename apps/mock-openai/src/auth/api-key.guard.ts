import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import { AppConfig } from '../app.config';
import { invalidApiKey, missingApiKey } from '../common/openai-error';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/**
 * `Authorization: Bearer <key>` is required, as with OpenAI. With MOCK_OPENAI_API_KEY set only that key
 * passes (401 invalid_api_key otherwise); with it empty any non-empty key passes.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(config: AppConfig) {
    if (config.MOCK_OPENAI_API_KEY) this.expected = digest(config.MOCK_OPENAI_API_KEY);
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<Request>().headers.authorization;
    const match = /^Bearer\s+(\S.*)$/i.exec(header?.trim() ?? '');
    if (!match) throw missingApiKey();
    const key = match[1].trim();
    if (this.expected && !timingSafeEqual(digest(key), this.expected)) throw invalidApiKey(key);
    return true;
  }
}
