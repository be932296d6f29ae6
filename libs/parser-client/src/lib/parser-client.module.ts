import { BreakerRegistry } from '@app/circuit-breaker';
import { DynamicModule, Module } from '@nestjs/common';
import { LlamaParseClient } from './llamaparse.driver';
import { LlamaParseV2Client } from './llamaparse-v2.driver';
import { PARSER_CLIENT_OPTIONS, ParserClientModuleOptions } from './parser-client.config';
import { PARSER_CLIENT, ParserClient } from './parser-client.interface';

export function createParserClient(options: ParserClientModuleOptions, registry: BreakerRegistry): ParserClient {
  switch (options.driver) {
    case 'llamaparse': {
      const policy = registry.get('parser', options.policy);
      const version = options.apiVersion ?? 'v2';
      if (version === 'v2') return new LlamaParseV2Client(options, policy);
      if (version === 'v1') return new LlamaParseClient(options, policy);
      throw new Error(`Unknown LlamaParse API version: ${String(version)} (v2 or v1)`);
    }
    default:
      throw new Error(`Unknown parser driver: ${String((options as { driver: unknown }).driver)}`);
  }
}

/** Global: provides PARSER_CLIENT. Needs CircuitBreakerModule.forRoot() in the same app. */
@Module({})
export class ParserClientModule {
  static forRoot(options: ParserClientModuleOptions): DynamicModule {
    return {
      module: ParserClientModule,
      global: true,
      providers: [
        { provide: PARSER_CLIENT_OPTIONS, useValue: options },
        { provide: PARSER_CLIENT, useFactory: createParserClient, inject: [PARSER_CLIENT_OPTIONS, BreakerRegistry] },
      ],
      exports: [PARSER_CLIENT, PARSER_CLIENT_OPTIONS],
    };
  }
}
