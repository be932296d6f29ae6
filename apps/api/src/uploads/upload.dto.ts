import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsOptional, IsString, Length, Matches, Max, Min, NotContains } from 'class-validator';

/** Document types the pipeline can parse. */
export const ALLOWED_MIME_TYPES = [
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'text/plain',
  'text/markdown',
  'text/html',
] as const;

// No C0/C1 control characters, no path separators.
// eslint-disable-next-line no-control-regex
const SAFE_FILENAME = /^[^\u0000-\u001f\u007f-\u009f/\\]+$/;

// SAFE_FILENAME's characters but surrogate halves, 1 to 255 of them: with no variation selector 15 or 16 either,
// class-validator's Length counts them as String.length does. CreateUploadDto.validBody's filenames.
// eslint-disable-next-line no-control-regex
const PLAIN_SAFE_FILENAME = /^[^\u0000-\u001f\u007f-\u009f/\\\ud800-\udfff]{1,255}$/;
const VARIATION_SELECTOR = /\ufe0e|\ufe0f/;
const SHA256_HEX = /^[0-9a-fA-F]{64}$/;
const FIELDS = new Set(['filename', 'bytes_len', 'mime', 'sha256', 'ocr']);

export class CreateUploadDto {
  /**
   * The DTO of a body whose every field plainly passes the decorators below (ValidBodyCheck), else undefined: such
   * bodies skip class-validator, the others get its checks and messages. upload.dto.spec.ts holds it to
   * class-validator's answers.
   */
  static validBody(body: Record<string, unknown>): CreateUploadDto | undefined {
    for (const key of Object.keys(body)) if (!FIELDS.has(key)) return undefined;
    const { filename, bytes_len, mime, sha256, ocr } = body;
    if (typeof filename !== 'string' || !PLAIN_SAFE_FILENAME.test(filename) || VARIATION_SELECTOR.test(filename)) return undefined;
    if (filename === '.' || filename === '..') return undefined;
    if (typeof bytes_len !== 'number' || !Number.isSafeInteger(bytes_len) || bytes_len < 1) return undefined;
    if (typeof mime !== 'string' || !(ALLOWED_MIME_TYPES as readonly string[]).includes(mime)) return undefined;
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) return undefined;
    if (ocr !== undefined && ocr !== null && typeof ocr !== 'boolean') return undefined;
    return Object.assign(new CreateUploadDto(), body, { sha256: sha256.toLowerCase() });
  }

  @ApiProperty({ example: 'report.pdf', minLength: 1, maxLength: 255 })
  @IsString()
  @Length(1, 255)
  @Matches(SAFE_FILENAME, { message: 'filename must not contain control characters or path separators' })
  @Matches(/^(?!\.{1,2}$).*/, { message: 'filename must not be "." or ".."' })
  @NotContains('\u0000')
  filename: string;

  @ApiProperty({ example: 48213, description: 'Exact size of the file in bytes (1 .. UPLOAD_MAX_BYTES).' })
  @IsInt()
  @Min(1)
  @Max(Number.MAX_SAFE_INTEGER)
  bytes_len: number;

  @ApiProperty({ enum: ALLOWED_MIME_TYPES })
  @IsIn(ALLOWED_MIME_TYPES as unknown as string[], { message: `mime must be one of: ${ALLOWED_MIME_TYPES.join(', ')}` })
  mime: string;

  @ApiProperty({ description: 'sha256 of the file, 64 hex characters', example: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' })
  @IsString()
  @Matches(/^[0-9a-fA-F]{64}$/, { message: 'sha256 must be 64 hexadecimal characters' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.toLowerCase() : value))
  sha256: string;

  @ApiPropertyOptional({ default: false })
  @IsOptional()
  @IsBoolean()
  ocr?: boolean;
}

export interface UploadResponse {
  job_id: string;
  document_id: string;
  /** Where to PUT the bytes; null when this document's bytes were already received. */
  signed_url: string | null;
  upload_method: 'PUT';
  upload_headers: Record<string, string>;
  upload_expires_at: string | null;
  /** True when the same user already uploaded these bytes: the existing document and job are returned. */
  deduplicated: boolean;
  stage: string;
  state: string;
}
