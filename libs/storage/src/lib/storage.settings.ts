import type { StorageOptions } from './storage.types';

/** The storage settings every app reads from its validated config (same names everywhere). */
export interface StorageSettings {
  STORAGE_DRIVER: 'local' | 's3';
  STORAGE_LOCAL_ROOT: string;
  STORAGE_SIGNING_SECRET: string;
  PUBLIC_BASE_URL: string;
  S3_BUCKET?: string;
  S3_REGION: string;
  S3_ENDPOINT?: string;
  S3_FORCE_PATH_STYLE: boolean;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
}

export function storageOptionsFrom(c: StorageSettings): StorageOptions {
  if (c.STORAGE_DRIVER === 's3') {
    if (!c.S3_BUCKET) throw new Error('S3_BUCKET is required with STORAGE_DRIVER=s3');
    return {
      driver: 's3',
      bucket: c.S3_BUCKET,
      region: c.S3_REGION,
      endpoint: c.S3_ENDPOINT,
      forcePathStyle: c.S3_FORCE_PATH_STYLE,
      accessKeyId: c.S3_ACCESS_KEY_ID,
      secretAccessKey: c.S3_SECRET_ACCESS_KEY,
    };
  }
  return { driver: 'local', root: c.STORAGE_LOCAL_ROOT, publicBaseUrl: c.PUBLIC_BASE_URL, signingSecret: c.STORAGE_SIGNING_SECRET };
}
