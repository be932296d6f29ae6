import { EnvBoolean } from '@app/config';
import {
  IsBoolean,
  IsInt,
  IsNumber,
  IsString,
  Max,
  Min,
  MinLength,
  Validate,
  ValidationArguments,
  ValidatorConstraint,
  ValidatorConstraintInterface,
} from 'class-validator';

/** The three fault rates are bands of one draw, so together they may not exceed 1. */
@ValidatorConstraint({ name: 'faultRatesSum' })
class FaultRatesSum implements ValidatorConstraintInterface {
  validate(_value: unknown, args: ValidationArguments): boolean {
    const c = args.object as AppConfig;
    return c.MOCK_OPENAI_ERROR_RATE + c.MOCK_OPENAI_RATE_LIMIT_RATE + c.MOCK_OPENAI_TIMEOUT_RATE <= 1 + 1e-9;
  }
  defaultMessage(): string {
    return 'MOCK_OPENAI_ERROR_RATE + MOCK_OPENAI_RATE_LIMIT_RATE + MOCK_OPENAI_TIMEOUT_RATE must be <= 1';
  }
}

/** mock-openai configuration, validated once in main.ts before Nest starts. */
export class AppConfig {
  @IsInt()
  @Min(0)
  @Max(65535)
  MOCK_OPENAI_PORT: number = 8002;

  @IsString()
  @MinLength(1)
  MOCK_OPENAI_HOST: string = '127.0.0.1';

  /** When set, only `Authorization: Bearer <this key>` is accepted; when empty any bearer key is. */
  @IsString()
  MOCK_OPENAI_API_KEY: string = '';

  /** Tokens per minute budget (continuous token bucket). */
  @IsInt()
  @Min(1)
  MOCK_OPENAI_TPM: number = 1_000_000_000;

  /** Requests per minute budget (continuous token bucket). */
  @IsInt()
  @Min(1)
  MOCK_OPENAI_RPM: number = 1_000_000;

  /** Every embeddings request gets 429 insufficient_quota. */
  @EnvBoolean()
  @IsBoolean()
  MOCK_OPENAI_QUOTA_EXHAUSTED: boolean = false;

  /** Fixed latency added to every /v1 request. */
  @IsInt()
  @Min(0)
  @Max(600_000)
  MOCK_OPENAI_LATENCY_MS: number = 0;

  /** Fraction of embeddings requests answered 500 or 503. */
  @IsNumber()
  @Min(0)
  @Max(1)
  MOCK_OPENAI_ERROR_RATE: number = 0;

  /** Fraction of embeddings requests answered 429 rate_limit_exceeded with retry-after. */
  @IsNumber()
  @Min(0)
  @Max(1)
  @Validate(FaultRatesSum)
  MOCK_OPENAI_RATE_LIMIT_RATE: number = 0;

  /** Fraction of embeddings requests that hang for MOCK_OPENAI_TIMEOUT_MS, then 504. */
  @IsNumber()
  @Min(0)
  @Max(1)
  MOCK_OPENAI_TIMEOUT_RATE: number = 0;

  @IsInt()
  @Min(1)
  @Max(600_000)
  MOCK_OPENAI_TIMEOUT_MS: number = 30_000;

  /** retry-after sent with injected 429s. */
  @IsInt()
  @Min(0)
  @Max(3_600_000)
  MOCK_OPENAI_RETRY_AFTER_MS: number = 1000;

  /** Seed of the PRNG that decides fault injection (reproducible runs). */
  @IsInt()
  MOCK_SEED: number = 1;

  /** JSON body size limit (body-parser syntax). */
  @IsString()
  @MinLength(1)
  MOCK_OPENAI_BODY_LIMIT: string = '50mb';
}
