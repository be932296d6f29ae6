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

export class CreateUploadDto {
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
