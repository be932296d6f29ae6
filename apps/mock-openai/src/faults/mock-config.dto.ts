import { IsBoolean, IsInt, IsNumber, Max, Min, ValidateIf } from 'class-validator';

/** Absent keys are left unchanged; `null` is not absent and fails validation. */
const IsOptional = (): PropertyDecorator => ValidateIf((_object: object, value: unknown) => value !== undefined);

/** Runtime knobs of the mock (GET/PUT /_mock/config); env names in brackets. */
export interface MockSettings {
  /** [MOCK_OPENAI_LATENCY_MS] fixed latency added to every /v1 request */
  latencyMs: number;
  /** [MOCK_OPENAI_ERROR_RATE] fraction of embeddings requests answered 500 or 503 */
  errorRate: number;
  /** [MOCK_OPENAI_RATE_LIMIT_RATE] fraction answered 429 rate_limit_exceeded */
  rateLimitRate: number;
  /** [MOCK_OPENAI_TIMEOUT_RATE] fraction that hang timeoutMs, then 504 */
  timeoutRate: number;
  /** [MOCK_OPENAI_TIMEOUT_MS] */
  timeoutMs: number;
  /** [MOCK_OPENAI_RETRY_AFTER_MS] retry-after of injected 429s */
  retryAfterMs: number;
  /** [MOCK_SEED] PRNG seed; setting it restarts the fault sequence */
  seed: number;
  /** [MOCK_OPENAI_QUOTA_EXHAUSTED] every embeddings request gets 429 insufficient_quota */
  quotaExhausted: boolean;
  /** [MOCK_OPENAI_TPM] tokens per minute; setting it (or rpm) refills both budgets */
  tpm: number;
  /** [MOCK_OPENAI_RPM] requests per minute */
  rpm: number;
}

/** Body of PUT /_mock/config: any subset of the knobs; the rest keep their values. */
export class MockConfigPatchDto implements Partial<MockSettings> {
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  latencyMs?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  errorRate?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  rateLimitRate?: number;

  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(1)
  timeoutRate?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(600_000)
  timeoutMs?: number;

  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  retryAfterMs?: number;

  @IsOptional()
  @IsInt()
  seed?: number;

  @IsOptional()
  @IsBoolean()
  quotaExhausted?: boolean;

  @IsOptional()
  @IsInt()
  @Min(1)
  tpm?: number;

  @IsOptional()
  @IsInt()
  @Min(1)
  rpm?: number;
}
