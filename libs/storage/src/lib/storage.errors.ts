/** Base class of every error the storage drivers throw on purpose. */
export class StorageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The object does not exist. */
export class StorageNotFoundError extends StorageError {
  constructor(readonly key: string, options?: { cause?: unknown }) {
    super(`Storage object not found: ${key}`, options);
  }
}

/** The key (or prefix) is not acceptable: bad characters, `..`, leading `/`, too long, or it escapes the root. */
export class InvalidStorageKeyError extends StorageError {
  constructor(
    readonly key: string,
    readonly reason: string,
  ) {
    super(`Invalid storage key ${JSON.stringify(key.length > 120 ? `${key.slice(0, 120)}...` : key)}: ${reason}`);
  }
}

/** Transient failure (network, timeout, throttling, 5xx): retrying later may succeed. */
export class StorageUnavailableError extends StorageError {}

/** The object is larger than the caller allowed. Permanent. */
export class StorageObjectTooLargeError extends StorageError {
  constructor(
    readonly key: string,
    readonly limit: number,
    readonly size: number | undefined,
  ) {
    super(`Storage object ${key} is larger than ${limit} bytes${size === undefined ? '' : ` (${size})`}`);
  }
}
