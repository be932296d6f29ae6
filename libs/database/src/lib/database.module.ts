import { DynamicModule, Global, Logger, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { DatabaseOptions, dataSourceOptions, runMigrations } from './data-source';

export interface DatabaseModuleOptions extends DatabaseOptions {
  /** Run pending migrations (under an advisory lock) when the app starts. */
  migrateOnStart?: boolean;
  /** How often to retry the first connection before giving up (the orchestrator restarts us then). */
  connectRetryAttempts?: number;
  connectRetryDelayMs?: number;
}

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(opts: DatabaseModuleOptions): DynamicModule {
    const logger = new Logger('Database');
    return {
      module: DatabaseModule,
      imports: [
        TypeOrmModule.forRootAsync({
          useFactory: () => ({
            ...dataSourceOptions(opts),
            retryAttempts: opts.connectRetryAttempts ?? 10,
            retryDelay: opts.connectRetryDelayMs ?? 1_000,
          }),
          dataSourceFactory: async (options) => {
            if (!options) throw new Error('database options missing');
            const ds = await new DataSource(options).initialize();
            if (opts.migrateOnStart) {
              const ran = await runMigrations(ds);
              if (ran.length) logger.log(`applied migrations: ${ran.join(', ')}`);
            }
            return ds;
          },
        }),
      ],
      exports: [TypeOrmModule],
    };
  }
}
