import { CallHandler, ExecutionContext, HttpException, Inject, Injectable, NestInterceptor } from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { Observable } from 'rxjs';
import { APP_CONFIG, MockLlamaParseConfig } from '../app.config';
import { DetailException } from '../common/detail.exception';

/** The multipart field that carries the document. */
export const FILE_FIELD = 'file';

/** The part multer keeps in memory for the `file` field (the fields of Express.Multer.File used here). */
export interface UploadedPart {
  originalname: string;
  mimetype: string;
  size: number;
  buffer: Buffer;
}

/**
 * Parses the multipart body with Nest's multer interceptor (in memory, one file, size limit from config) and
 * makes every failure a client error: too large -> 413, anything else wrong with the body -> 400. A malformed
 * body is never a 500.
 */
@Injectable()
export class UploadInterceptor implements NestInterceptor {
  private readonly multer: NestInterceptor;
  private readonly maxBytes: number;

  constructor(@Inject(APP_CONFIG) config: MockLlamaParseConfig) {
    this.maxBytes = config.MOCK_LLAMAPARSE_MAX_FILE_BYTES;
    const Multer = FileInterceptor(FILE_FIELD, {
      limits: { fileSize: this.maxBytes, files: 1, fields: 100, fieldSize: 1024 * 1024, parts: 101 },
    });
    this.multer = new Multer();
  }

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    try {
      return await this.multer.intercept(context, next);
    } catch (e) {
      if (e instanceof HttpException && e.getStatus() === 413)
        throw new DetailException(413, `File too large: the limit is ${this.maxBytes} bytes`);
      throw new DetailException(400, `Invalid multipart body: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
