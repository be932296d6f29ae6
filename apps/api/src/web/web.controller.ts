import { Controller, Get, Header, Inject, Optional, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@app/auth';
import { STORAGE_OPTIONS, type StorageOptions } from '@app/storage';
import { INDEX_HTML } from './web.page';
import { APP_JS } from './web.script';
import { APP_CSS } from './web.styles';

/**
 * The small web page (sign in with a token, upload, live job progress, dead letters, search, delete).
 * Public: the page holds no data; every API call it makes carries the user's Bearer token.
 * Served from string constants so the webpack bundle carries them (dist/apps/api has only main.js).
 */
@ApiExcludeController()
@Public()
@Controller()
export class WebController {
  /** Where the page PUTs uploads when they go straight to the object store (S3): allowed by its CSP's connect-src. */
  private readonly uploadOrigins: string | null;

  constructor(@Optional() @Inject(STORAGE_OPTIONS) storage?: StorageOptions) {
    this.uploadOrigins = storage ? objectStoreOrigins(storage) : null;
  }

  @Get(['', 'app'])
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  page(@Res({ passthrough: true }) res?: Response): string {
    const csp = res?.getHeader('Content-Security-Policy');
    if (this.uploadOrigins && typeof csp === 'string' && !/connect-src/.test(csp)) {
      res?.setHeader('Content-Security-Policy', `${csp};connect-src 'self' ${this.uploadOrigins}`);
    }
    return INDEX_HTML;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return APP_JS;
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  styles(): string {
    return APP_CSS;
  }
}

/** The origins of the object store's presigned upload URLs (none with the local driver: uploads go to the api). */
export function objectStoreOrigins(o: StorageOptions): string | null {
  if (o.driver !== 's3') return null;
  if (!o.endpoint) return `https://${o.bucket}.s3.${o.region}.amazonaws.com https://s3.${o.region}.amazonaws.com`;
  const u = new URL(o.endpoint);
  return o.forcePathStyle ? u.origin : `${u.protocol}//${o.bucket}.${u.host}`;
}
