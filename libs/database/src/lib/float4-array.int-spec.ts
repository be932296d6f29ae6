import { createEmptyDatabase, TestDatabase } from '@app/testing';
import { DataSource } from 'typeorm';
import { createDataSource } from './data-source';
import { float4Array, float4Slice } from './float4-array';
import { prepared, runPrepared } from './prepared-query';

/** Vectors as one binary real[] parameter, on a real PostgreSQL. */
describe('float4Array (real PostgreSQL)', () => {
  let db: TestDatabase;
  let ds: DataSource;

  beforeAll(async () => {
    db = await createEmptyDatabase();
    ds = createDataSource({ url: db.url, poolSize: 1 });
    await ds.initialize();
  });
  afterAll(async () => {
    await ds?.destroy();
    await db?.drop();
  });

  const SPECIAL = [0, -0, 1, -1, 0.1, 1 / 3, Math.PI, 1e-45, 1.17549435e-38, 3.4028234663852886e38, 1e-7, -123456.789, Infinity, -Infinity];

  it('stores each value as the float4 the text cast of its shortest decimal stores (the way vectors went in before)', async () => {
    const random = Array.from({ length: 1536 }, () => (Math.random() - 0.5) * 10 ** (Math.floor(Math.random() * 12) - 6));
    for (const v of [SPECIAL, random]) {
      const [row] = await runPrepared<{ same: boolean; text: string }>(
        ds,
        prepared(`SELECT $1::real[] = string_to_array($2, ',')::real[] AS same, ($1::real[])::text AS text`),
        [float4Array([v]), v.join(',')],
      );
      expect(row.same).toBe(true);
      // PostgreSQL prints a float4 with the fewest digits that read back as it
      expect(row.text.slice(1, -1).split(',').map(Number).map(Math.fround)).toEqual(v.map(Math.fround));
    }
  });

  it('keeps NaN', async () => {
    const [row] = await runPrepared<{ text: string }>(ds, prepared(`SELECT ($1::real[])::text AS text`), [float4Array([[NaN, 1]])]);
    expect(row.text).toBe('{NaN,1}');
  });

  it('gives each vector back as its slice, one-dimensional', async () => {
    const vectors = [
      [1, 2, 3],
      [4, 5, 6],
      [7.5, -8, 9],
    ];
    const rows = await runPrepared<{ n: string; v: number[]; dims: number }>(
      ds,
      prepared(`SELECT t.n, ${float4Slice('$1', 't.n', '$2')} AS v, array_ndims(${float4Slice('$1', 't.n', '$2')}) AS dims
                FROM unnest($3::text[]) WITH ORDINALITY AS t (id, n) ORDER BY t.n`),
      [float4Array(vectors), 3, ['a', 'b', 'c']],
    );
    expect(rows.map((r) => [r.v, r.dims])).toEqual(vectors.map((v) => [v, 1]));
  });

  it('no vectors: an empty array; vectors of different lengths: refused', async () => {
    const [row] = await runPrepared<{ v: number[] }>(ds, prepared(`SELECT $1::real[] AS v`), [float4Array([])]);
    expect(row.v).toEqual([]);
    expect(() => float4Array([[1, 2], [3]])).toThrow('different lengths');
  });
});
