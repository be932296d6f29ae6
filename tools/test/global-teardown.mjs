export default async function globalTeardown() {
  const pg = globalThis.__INGEST_TEST_PG__;
  if (pg) {
    await pg.stop();
    delete process.env.INGEST_TEST_ADMIN_URL;
  }
}
