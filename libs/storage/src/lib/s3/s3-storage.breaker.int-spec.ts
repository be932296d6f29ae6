/**
 * The S3 driver's `storage` circuit breaker against a real S3 wire server (s3rver, started here): the store is taken
 * down (the server stops listening) and brought back (the same port and directory), and the driver's calls go through
 * the `storage` ServicePolicy of a BreakerRegistry as the apps wire it (createStorageDriver with the registry).
 * Small breaker settings; no wall-clock assertions: the tests wait by polling the breaker.
 */
import { BreakerRegistry, type ServicePolicy } from '@app/circuit-breaker';
import { BreakerOpenError, PermanentError, TransientError } from '@app/errors';
import { startS3rver, type S3TestServer } from '@app/testing';
import { StorageNotFoundError } from '../storage.errors';
import { createStorageDriver } from '../storage.factory';
import { StorageHealthIndicator } from '../storage.health';
import type { S3StorageOptions } from '../storage.types';
import { S3StorageDriver } from './s3-storage.driver';

const THRESHOLD = 3;

/** Polls `probe` (up to `tries` times, `everyMs` apart) until it returns true. */
async function eventually(probe: () => Promise<boolean> | boolean, tries = 400, everyMs = 25): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error('condition not reached');
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('S3StorageDriver behind the storage circuit breaker (s3rver)', () => {
  let s3: S3TestServer;
  let registry: BreakerRegistry;
  let driver: S3StorageDriver;
  let policy: ServicePolicy;
  const options = (extra: Partial<S3StorageOptions> = {}): S3StorageOptions => ({
    driver: 's3',
    bucket: s3.bucket,
    region: s3.region,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
    ...extra,
  });

  beforeAll(async () => {
    s3 = await startS3rver('breaker-test');
    registry = new BreakerRegistry({
      services: {
        storage: {
          timeoutMs: 5_000,
          maxAttempts: 2,
          initialDelayMs: 1,
          maxDelayMs: 5,
          breaker: { kind: 'consecutive', threshold: THRESHOLD },
          halfOpenAfterMs: 150,
        },
      },
    });
    driver = createStorageDriver(options(), registry) as S3StorageDriver;
    policy = registry.get('storage');
  });
  afterAll(async () => {
    driver?.onModuleDestroy();
    await s3?.close();
  });

  it('goes through the registry`s `storage` policy; the SDK does not retry on its own', async () => {
    expect(driver).toBeInstanceOf(S3StorageDriver);
    expect(driver.policy).toBe(policy);
    expect(registry.states().map((b) => b.name)).toEqual(['storage']);
    expect(await driver.client.config.maxAttempts()).toBe(1);
    expect(policy.options.maxAttempts).toBe(2);
  });

  it('not-found answers and permanent errors do not count toward the breaker', async () => {
    await driver.putObject('users/u1/documents/d1/raw', Buffer.from('kept'));
    for (let i = 0; i < THRESHOLD * 2; i++) {
      await expect(driver.stat(`users/u1/documents/missing-${i}/raw`)).resolves.toBeNull();
      await expect(driver.getObjectBuffer(`users/u1/documents/missing-${i}/raw`)).rejects.toBeInstanceOf(StorageNotFoundError);
      await expect(driver.getObject(`users/u1/documents/missing-${i}/raw`)).rejects.toBeInstanceOf(StorageNotFoundError);
      await expect(driver.hashObject(`users/u1/documents/missing-${i}/raw`)).rejects.toBeInstanceOf(StorageNotFoundError);
      await expect(driver.deleteObject(`users/u1/documents/missing-${i}/raw`)).resolves.toBeUndefined();
    }
    // a bucket that does not exist and an unknown access key: permanent, never retried into the breaker
    const noBucket = createStorageDriver(options({ bucket: 'no-such-bucket' }), registry) as S3StorageDriver;
    const badKey = createStorageDriver(options({ accessKeyId: 'NOT-A-KEY', secretAccessKey: 'nope' }), registry) as S3StorageDriver;
    try {
      for (let i = 0; i < THRESHOLD * 2; i++) {
        const a = await rejection(noBucket.getObjectBuffer('users/u1/documents/d1/raw'));
        expect(a).toBeInstanceOf(PermanentError);
        expect(a).toMatchObject({ service: 'storage', status: 404 });
        const b = await rejection(badKey.stat('users/u1/documents/d1/raw'));
        expect(b).toBeInstanceOf(PermanentError);
        expect(b).toMatchObject({ service: 'storage', status: 403 });
      }
    } finally {
      noBucket.onModuleDestroy();
      badKey.onModuleDestroy();
    }
    expect(policy.status()).toMatchObject({ state: 'closed', failures: 0 });
  });

  it('store down: calls fail transient, the breaker opens after its threshold and fails fast; store back: it closes', async () => {
    const key = 'users/u1/documents/d2/raw';
    await driver.putObject(key, Buffer.from('survives the outage'));
    const health = new StorageHealthIndicator(driver);
    expect(await health.check()).toEqual({ storage: { status: 'up', driver: 's3', breaker: 'closed' } });

    await s3.stop();
    const seen: unknown[] = [];
    await eventually(async () => {
      seen.push(await rejection(driver.stat(key)));
      return policy.status().state === 'open';
    }, 2 * THRESHOLD);
    // every failure before the breaker opened was the store's (connection refused), classified transient
    const beforeOpen = seen.filter((e) => !(e instanceof BreakerOpenError));
    expect(beforeOpen.length).toBeGreaterThan(0);
    for (const e of beforeOpen) expect(e).toBeInstanceOf(TransientError);
    expect(beforeOpen[0]).toMatchObject({ service: 'storage', code: 'ECONNREFUSED' });
    expect(policy.status().failures).toBeGreaterThanOrEqual(THRESHOLD);

    // open: every operation fails fast, without reaching the store
    for (const call of [
      () => driver.stat(key),
      () => driver.getObject(key),
      () => driver.getObjectBuffer(key),
      () => driver.putObject('users/u1/documents/d3/raw', Buffer.from('x')),
      () => driver.deleteObject(key),
      () => driver.deletePrefix('users/u1/'),
    ]) {
      const e = await rejection(call());
      expect(e).toBeInstanceOf(BreakerOpenError);
      expect(e).toBeInstanceOf(TransientError);
    }
    expect(await health.check()).toMatchObject({ storage: { status: 'down', driver: 's3', breaker: 'open' } });
    expect(registry.states()).toEqual([expect.objectContaining({ name: 'storage', state: 'open' })]);

    // store back (same port, same directory): after the half-open delay the trial call succeeds and closes the breaker
    await s3.start();
    let bytes: Buffer | undefined;
    await eventually(async () => {
      try {
        bytes = await driver.getObjectBuffer(key);
        return true;
      } catch (e) {
        if (!(e instanceof BreakerOpenError)) throw e;
        return false;
      }
    });
    expect(bytes?.toString()).toBe('survives the outage');
    expect(policy.status()).toMatchObject({ state: 'closed', failures: 0 });
    expect(await health.check()).toEqual({ storage: { status: 'up', driver: 's3', breaker: 'closed' } });

    // and the driver works as before: a stream, a delete, a prefix delete
    const chunks: Buffer[] = [];
    for await (const c of await driver.getObject(key)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('survives the outage');
    await driver.deleteObject(key);
    await expect(driver.stat(key)).resolves.toBeNull();
    expect(await driver.deletePrefix('users/u1/')).toBe(1);
  });

  it('a store that stays down keeps the breaker open: the half-open trial fails and it opens again', async () => {
    await s3.stop();
    try {
      await eventually(async () => {
        await rejection(driver.stat('users/u1/documents/d4/raw'));
        return policy.status().state === 'open';
      }, 2 * THRESHOLD);
      // wait for a trial: it reaches the (down) store, fails transient, and the breaker is open again (the caller sees
      // BreakerOpenError either way: the policy's retry after the failed trial meets the reopened breaker)
      const changes: string[] = [];
      const unsubscribe = policy.onStateChange((c) => changes.push(`${c.previous}->${c.state}`));
      try {
        await eventually(async () => {
          const e = await rejection(driver.stat('users/u1/documents/d4/raw'));
          expect(e).toBeInstanceOf(TransientError);
          return changes.includes('half_open->open');
        });
      } finally {
        unsubscribe();
      }
      expect(changes.slice(0, 2)).toEqual(['open->half_open', 'half_open->open']);
      expect(policy.status().state).toBe('open');
    } finally {
      await s3.start();
    }
    await eventually(async () => (await driver.stat('users/u1/documents/d4/raw').catch(() => undefined)) === null);
    expect(policy.status().state).toBe('closed');
  });
});
