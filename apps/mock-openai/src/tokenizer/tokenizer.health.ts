import { Injectable } from '@nestjs/common';
import { HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { TokenizerService } from './tokenizer.service';

/** Ready once the cl100k_base ranks are loaded. */
@Injectable()
export class TokenizerHealthIndicator {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly tokenizer: TokenizerService,
  ) {}

  check(key = 'tokenizer'): HealthIndicatorResult {
    const session = this.indicators.check(key);
    return this.tokenizer.isReady() ? session.up({ encoding: 'cl100k_base' }) : session.down({ message: 'tokenizer not loaded' });
  }
}
