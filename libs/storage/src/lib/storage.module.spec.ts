import { BreakerRegistry, CircuitBreakerModule } from '@app/circuit-breaker';
import { Inject, Injectable, Module, ServiceUnavailableException } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../../test/fs-helpers';
import { LocalStorageDriver } from './local/local-storage.driver';
import { S3StorageDriver } from './s3/s3-storage.driver';
import { createStorageDriver, DEFAULT_STORAGE_POLICY } from './storage.factory';
import { StorageHealthIndicator } from './storage.health';
import { StorageModule } from './storage.module';
import { STORAGE, STORAGE_OPTIONS, type StorageDriver, type StorageOptions } from './storage.types';

const SECRET = 'module-test-secret-0123456789';

@Injectable()
class NeedsStorage {
  constructor(@Inject(STORAGE) readonly storage: StorageDriver) {}
}

/** A feature module that does not import StorageModule: STORAGE must come from the global module. */
@Module({ providers: [NeedsStorage], exports: [NeedsStorage] })
class FeatureModule {}

let tmp: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => (tmp = await tempDir('module')));
afterEach(() => tmp.cleanup());

describe('StorageModule', () => {
  it('forRoot(local) provides a global LocalStorageDriver, its options and the health indicator', async () => {
    const options: StorageOptions = { driver: 'local', root: tmp.dir, publicBaseUrl: 'http://localhost:8000', signingSecret: SECRET };
    const ref = await Test.createTestingModule({ imports: [StorageModule.forRoot(options), FeatureModule] }).compile();
    const storage = ref.get<StorageDriver>(STORAGE);
    expect(storage).toBeInstanceOf(LocalStorageDriver);
    expect(ref.get(NeedsStorage).storage).toBe(storage);
    expect(ref.get(STORAGE_OPTIONS)).toBe(options);
    await storage.putObject('k', Buffer.from('v'));
    expect(await ref.get(StorageHealthIndicator).check()).toEqual({ storage: { status: 'up', driver: 'local' } });
    await ref.close();
  });

  it('forRoot(s3) provides an S3StorageDriver and closes its client on shutdown', async () => {
    const ref = await Test.createTestingModule({
      imports: [
        StorageModule.forRoot({ driver: 's3', bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 's' }),
        FeatureModule,
      ],
    }).compile();
    const storage = ref.get<StorageDriver>(STORAGE);
    expect(storage).toBeInstanceOf(S3StorageDriver);
    expect(storage.kind).toBe('s3');
    const destroy = jest.spyOn((storage as S3StorageDriver).client, 'destroy');
    await ref.close();
    expect(destroy).toHaveBeenCalled();
  });

  it('an S3 driver takes the `storage` policy from the app`s BreakerRegistry; the local driver has no breaker', async () => {
    const s3: StorageOptions = { driver: 's3', bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', forcePathStyle: true, accessKeyId: 'a', secretAccessKey: 's' };
    const ref = await Test.createTestingModule({
      imports: [CircuitBreakerModule.forRoot({ services: { storage: { breaker: { kind: 'consecutive', threshold: 2 } } } }), StorageModule.forRoot(s3)],
    }).compile();
    const registry = ref.get(BreakerRegistry);
    const storage = ref.get<S3StorageDriver>(STORAGE);
    expect(storage.policy).toBe(registry.get('storage'));
    expect(storage.policy?.options).toMatchObject({ breaker: { kind: 'consecutive', threshold: 2 }, timeoutMs: DEFAULT_STORAGE_POLICY.timeoutMs });
    expect(await storage.client.config.maxAttempts()).toBe(1);
    expect(registry.states()).toEqual([expect.objectContaining({ name: 'storage', state: 'closed' })]);
    await ref.close();

    const local = await Test.createTestingModule({
      imports: [
        CircuitBreakerModule.forRoot(),
        StorageModule.forRoot({ driver: 'local', root: tmp.dir, publicBaseUrl: 'http://h', signingSecret: SECRET }),
      ],
    }).compile();
    expect(local.get<StorageDriver>(STORAGE).policy).toBeUndefined();
    expect(local.get(BreakerRegistry).has('storage')).toBe(false);
    await local.close();
  });

  it('without a BreakerRegistry an S3 driver keeps a `storage` policy of its own', () => {
    const storage = createStorageDriver({ driver: 's3', bucket: 'b', region: 'us-east-1', policy: { maxAttempts: 4 } }) as S3StorageDriver;
    expect(storage.policy?.name).toBe('storage');
    expect(storage.policy?.options.maxAttempts).toBe(4);
    storage.onModuleDestroy();
  });

  it('forRootAsync builds the options from a factory', async () => {
    const ref = await Test.createTestingModule({
      imports: [
        StorageModule.forRootAsync({
          useFactory: async (): Promise<StorageOptions> => ({ driver: 'local', root: tmp.dir, publicBaseUrl: 'http://h', signingSecret: SECRET }),
        }),
        FeatureModule,
      ],
    }).compile();
    expect(ref.get(NeedsStorage).storage).toBeInstanceOf(LocalStorageDriver);
    await ref.close();
  });

  it('createStorageDriver refuses bad options', () => {
    expect(() => createStorageDriver({ driver: 'local', root: tmp.dir, publicBaseUrl: 'http://h', signingSecret: 'short' })).toThrow(RangeError);
    expect(() => createStorageDriver({ driver: 'nope' } as unknown as StorageOptions)).toThrow(/unknown storage driver/);
  });
});

describe('StorageHealthIndicator', () => {
  const fake = (ping: () => Promise<void>): StorageDriver => ({ kind: 's3', ping } as unknown as StorageDriver);

  it('is down with a message when the root is not writable', async () => {
    await writeFile(join(tmp.dir, 'file'), 'x');
    const ind = new StorageHealthIndicator(new LocalStorageDriver({ root: join(tmp.dir, 'file'), publicBaseUrl: 'http://h', signingSecret: SECRET }));
    const res = await ind.check('files');
    expect(res.files.status).toBe('down');
    expect(res.files.driver).toBe('local');
    expect(res.files.message).toMatch(/not writable/);
  });

  it('is down when ping hangs past the timeout', async () => {
    const ind = new StorageHealthIndicator(fake(() => new Promise<void>(() => undefined)));
    expect(await ind.check('storage', 30)).toEqual({ storage: { status: 'down', driver: 's3', message: 'storage ping timed out after 30 ms' } });
  });

  it('plugs into terminus HealthCheckService: 503 when down, ok when up', async () => {
    let healthy = true;
    const ref = await Test.createTestingModule({ imports: [TerminusModule.forRoot({ logger: false })] }).compile();
    const health = ref.get(HealthCheckService);
    const ind = new StorageHealthIndicator(fake(async () => {
      if (!healthy) throw new Error('HeadBucket failed');
    }));
    expect(await health.check([() => ind.check()])).toMatchObject({ status: 'ok', info: { storage: { status: 'up', driver: 's3' } } });
    healthy = false;
    const err = await health.check([() => ind.check()]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceUnavailableException);
    expect((err as ServiceUnavailableException).getResponse()).toMatchObject({
      status: 'error',
      error: { storage: { status: 'down', driver: 's3', message: 'HeadBucket failed' } },
    });
    await ref.close();
  });
});
