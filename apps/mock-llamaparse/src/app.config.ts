import { IsIn, IsInt, IsOptional, IsString, MinLength } from 'class-validator';
import { IsIntIn, IsRate } from './common/validators';

/** Injection token for the frozen {@link MockLlamaParseConfig} of the running app. */
export const APP_CONFIG = Symbol('MOCK_LLAMAPARSE_CONFIG');

const MIB = 1024 * 1024;

/**
 * Environment of mock-llamaparse, validated once by `loadConfigOrExit` before Nest starts.
 * The fault knobs (latency, rates, seed) are only the start values: `PUT /_mock/config` changes them at runtime.
 */
export class MockLlamaParseConfig {
  @IsIntIn(0, 65535)
  MOCK_LLAMAPARSE_PORT: number = 8001;

  @IsString()
  @MinLength(1)
  MOCK_LLAMAPARSE_HOST: string = '127.0.0.1';

  /** When set, `Authorization: Bearer <key>` must match it on /api/v1 routes; when unset any (or no) key is accepted. */
  @IsOptional()
  @IsString()
  @MinLength(1)
  MOCK_LLAMAPARSE_API_KEY?: string;

  /** Documents parsed at the same time. */
  @IsIntIn(1, 64)
  MOCK_LLAMAPARSE_CONCURRENCY: number = 4;

  /** Jobs waiting for a parse slot; beyond it an upload answers 429. */
  @IsIntIn(1)
  MOCK_LLAMAPARSE_QUEUE_MAX: number = 1000;

  /** Largest accepted upload (bytes); larger ones answer 413. */
  @IsIntIn(1)
  MOCK_LLAMAPARSE_MAX_FILE_BYTES: number = 50 * MIB;

  /** Finished jobs are forgotten this long after they finish. */
  @IsIntIn(1)
  MOCK_LLAMAPARSE_JOB_TTL_MS: number = 60 * 60 * 1000;

  /** Jobs kept in memory at most; the oldest finished ones are evicted first. */
  @IsIntIn(1)
  MOCK_LLAMAPARSE_MAX_JOBS: number = 10_000;

  /** A parse that takes longer fails the job (ERROR). */
  @IsIntIn(1)
  MOCK_LLAMAPARSE_PARSE_TIMEOUT_MS: number = 60_000;

  /**
   * OCR of PDF pages that have no text layer (no letter or digit) but paint images, when the upload does not say
   * (v1 `disable_ocr`, v2 `processing_options.ignore.ignore_text_in_image`): `on` (as LlamaParse, which OCRs by
   * default) or `off`.
   */
  @IsIn(['on', 'off'])
  MOCK_LLAMAPARSE_OCR_DEFAULT: string = 'on';

  /** Most pages of one PDF that may need OCR; a PDF with more fails (ERROR, code OCR_PAGE_LIMIT) before OCR runs. */
  @IsIntIn(1)
  MOCK_LLAMAPARSE_OCR_MAX_PAGES: number = 20;

  /**
   * OCR time budget of one document (ms), counted from its first OCR'd page (time queued behind other documents'
   * OCR included); over it the job fails (ERROR, code OCR_TIMEOUT). Keep it below MOCK_LLAMAPARSE_PARSE_TIMEOUT_MS.
   */
  @IsIntIn(1)
  MOCK_LLAMAPARSE_OCR_TIMEOUT_MS: number = 50_000;

  @IsIntIn(0)
  MOCK_LLAMAPARSE_LATENCY_MS: number = 0;

  @IsRate()
  MOCK_LLAMAPARSE_ERROR_RATE: number = 0;

  @IsRate()
  MOCK_LLAMAPARSE_RATE_LIMIT_RATE: number = 0;

  /** `retry-after` (seconds) sent with injected 429s. */
  @IsIntIn(0)
  MOCK_LLAMAPARSE_RETRY_AFTER_S: number = 1;

  @IsRate()
  MOCK_LLAMAPARSE_TIMEOUT_RATE: number = 0;

  @IsIntIn(0)
  MOCK_LLAMAPARSE_TIMEOUT_MS: number = 30_000;

  @IsRate()
  MOCK_LLAMAPARSE_DROP_WEBHOOK_RATE: number = 0;

  /** Fraction of uploads (v1 and v2) answered 402, as LlamaParse answers an account out of credits. */
  @IsRate()
  MOCK_LLAMAPARSE_FAIL_402_RATE: number = 0;

  /** Fraction of uploads answered 429 without `retry-after`, as LlamaParse's upload rate limit answers. */
  @IsRate()
  MOCK_LLAMAPARSE_UPLOAD_429_RATE: number = 0;

  /** Fraction of successful v1 jobs whose status reads PARTIAL_SUCCESS (some pages failed; the result is there). */
  @IsRate()
  MOCK_LLAMAPARSE_PARTIAL_SUCCESS_RATE: number = 0;

  /** Timeout of one webhook POST. */
  @IsIntIn(1)
  MOCK_LLAMAPARSE_WEBHOOK_TIMEOUT_MS: number = 5_000;

  /** Extra webhook attempts after the first on a network error, timeout, 429 or 5xx. */
  @IsIntIn(0, 10)
  MOCK_LLAMAPARSE_WEBHOOK_RETRIES: number = 3;

  /** First retry delay; doubles per attempt. */
  @IsIntIn(0)
  MOCK_LLAMAPARSE_WEBHOOK_BACKOFF_MS: number = 200;

  /** Seed of the fault-injection PRNG: the same seed and request sequence give the same faults. */
  @IsInt()
  MOCK_SEED: number = 1;

  @IsIn(['log', 'error', 'warn', 'debug', 'verbose', 'fatal', 'silent'])
  MOCK_LLAMAPARSE_LOG_LEVEL: string = 'log';
}
