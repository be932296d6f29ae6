import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { createHash, timingSafeEqual } from 'node:crypto';
import { APP_CONFIG, MockLlamaParseConfig } from '../app.config';
import { DetailException } from '../common/detail.exception';

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** `Authorization: Bearer <MOCK_LLAMAPARSE_API_KEY>` when that variable is set; otherwise every caller is let in. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly expected?: Buffer;

  constructor(@Inject(APP_CONFIG) config: MockLlamaParseConfig) {
    if (config.MOCK_LLAMAPARSE_API_KEY) this.expected = digest(config.MOCK_LLAMAPARSE_API_KEY);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.expected) return true;
    const header = context.switchToHttp().getRequest<Request>().headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw new DetailException(401, 'Missing API key: send Authorization: Bearer <key>', { 'www-authenticate': 'Bearer' });
    if (!timingSafeEqual(digest(match[1]), this.expected))
      throw new DetailException(401, 'Invalid API key', { 'www-authenticate': 'Bearer' });
    return true;
  }
}
