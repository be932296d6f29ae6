import { BreakerRegistry } from '@app/circuit-breaker';
import { Global, Module, type DynamicModule, type FactoryProvider, type ModuleMetadata } from '@nestjs/common';
import { createStorageDriver } from './storage.factory';
import { StorageHealthIndicator } from './storage.health';
import { STORAGE, STORAGE_OPTIONS, type StorageDriver, type StorageOptions } from './storage.types';

export interface StorageModuleAsyncOptions extends Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => StorageOptions | Promise<StorageOptions>;
  inject?: FactoryProvider['inject'];
}

const driverProvider: FactoryProvider<StorageDriver> = {
  provide: STORAGE,
  useFactory: (options: StorageOptions, registry?: BreakerRegistry) => createStorageDriver(options, registry),
  // The app's CircuitBreakerModule (global) when it has one: the `storage` breaker joins the others in health and metrics.
  inject: [STORAGE_OPTIONS, { token: BreakerRegistry, optional: true }],
};

/**
 * Global module providing the active driver under `STORAGE`, the options under `STORAGE_OPTIONS`
 * and `StorageHealthIndicator`. An S3 driver's calls go through the `storage` policy of the app's BreakerRegistry
 * (CircuitBreakerModule.forRoot, optional: without it the driver keeps a policy of its own).
 */
@Global()
@Module({})
export class StorageModule {
  static forRoot(options: StorageOptions): DynamicModule {
    return {
      module: StorageModule,
      providers: [{ provide: STORAGE_OPTIONS, useValue: options }, driverProvider, StorageHealthIndicator],
      exports: [STORAGE, STORAGE_OPTIONS, StorageHealthIndicator],
    };
  }

  static forRootAsync(options: StorageModuleAsyncOptions): DynamicModule {
    return {
      module: StorageModule,
      imports: options.imports ?? [],
      providers: [
        { provide: STORAGE_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] },
        driverProvider,
        StorageHealthIndicator,
      ],
      exports: [STORAGE, STORAGE_OPTIONS, StorageHealthIndicator],
    };
  }
}
