/**
 * A select-list (or RETURNING) item that commits the statement it is part of without waiting for its WAL flush:
 * `synchronous_commit` off for that transaction only (a single statement is its own transaction, and the setting is
 * read at its commit). It runs whenever the statement returns a row, so a statement that writes nothing leaves the
 * setting alone.
 *
 * Only for writes whose loss in a database crash is harmless, and which any later synchronous commit makes durable
 * (it flushes the WAL up to and past them): claims and lease renewals (a lost claim makes the job claimable again),
 * the parser webhook's log row (decisions.md #20).
 */
export const ASYNC_COMMIT = `set_config('synchronous_commit', 'off', true) AS async_commit`;
