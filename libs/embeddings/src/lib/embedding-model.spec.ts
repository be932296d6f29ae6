import {
  BuildConflictError,
  BuildRequestError,
  EmbeddingModel,
  ModelsInUse,
  planBuild,
  refLabel,
  sameRef,
  VectorColumn,
} from './embedding-model';

const model = (over: Partial<EmbeddingModel>): EmbeddingModel => ({
  model: 'text-embedding-3-small',
  version: 1,
  dimensions: 1536,
  state: 'active',
  requestedBy: null,
  createdAt: '2026-01-01T00:00:00.000Z',
  activatedAt: '2026-01-01T00:00:00.000Z',
  retiredAt: null,
  ...over,
});

const active = model({});
const idle: ModelsInUse = { active, building: null };
const realArray: VectorColumn = { storage: 'real_array', dimensions: null };
const pgvector: VectorColumn = { storage: 'pgvector', dimensions: 1536 };

describe('planBuild', () => {
  it('defaults the version to the active one + 1 for the same model name, 1 for another name', () => {
    expect(planBuild({ model: 'text-embedding-3-small' }, idle, [active], realArray)).toEqual({
      kind: 'start',
      target: { model: 'text-embedding-3-small', version: 2, dimensions: 1536 },
      reuse: false,
    });
    expect(planBuild({ model: 'text-embedding-3-large' }, idle, [active], realArray)).toMatchObject({
      target: { model: 'text-embedding-3-large', version: 1 },
    });
  });

  it('trims the model name and refuses an empty or overlong one', () => {
    expect(planBuild({ model: '  m  ' }, idle, [active], realArray)).toMatchObject({ target: { model: 'm' } });
    expect(() => planBuild({ model: '   ' }, idle, [active], realArray)).toThrow(BuildRequestError);
    expect(() => planBuild({ model: 'x'.repeat(201) }, idle, [active], realArray)).toThrow(BuildRequestError);
  });

  it('refuses a version that is not a positive integer', () => {
    for (const version of [0, -1, 1.5, Number.NaN]) {
      expect(() => planBuild({ model: 'm', version }, idle, [active], realArray)).toThrow(BuildRequestError);
    }
  });

  it('refuses to rebuild the active model as it is', () => {
    expect(() => planBuild({ model: active.model, version: active.version }, idle, [active], realArray)).toThrow(
      /already the active model/,
    );
  });

  it('returns the build in progress for the same request, and refuses another while one runs', () => {
    const building = model({ model: 'text-embedding-3-large', version: 1, dimensions: 3072, state: 'building', activatedAt: null });
    const inUse = { active, building };
    expect(planBuild({ model: 'text-embedding-3-large', version: 1 }, inUse, [active, building], realArray)).toEqual({
      kind: 'already-building',
      model: building,
    });
    expect(planBuild({ model: 'text-embedding-3-large' }, inUse, [active, building], realArray)).toMatchObject({
      kind: 'already-building',
    });
    expect(() => planBuild({ model: 'text-embedding-3-small' }, inUse, [active, building], realArray)).toThrow(BuildConflictError);
  });

  it('real[] storage takes any size; the default is the active model size', () => {
    expect(planBuild({ model: 'text-embedding-3-large', dimensions: 3072 }, idle, [active], realArray)).toMatchObject({
      target: { dimensions: 3072 },
    });
    expect(planBuild({ model: 'b' }, { active: model({ dimensions: 256 }), building: null }, [], realArray)).toMatchObject({
      target: { dimensions: 256 },
    });
    for (const dimensions of [0, 16001, 2.5]) {
      expect(() => planBuild({ model: 'b', dimensions }, idle, [active], realArray)).toThrow(BuildRequestError);
    }
  });

  it("pgvector's column has one size: it is the default, and any other size is refused with the reason", () => {
    expect(planBuild({ model: 'text-embedding-3-large' }, idle, [active], pgvector)).toMatchObject({
      target: { dimensions: 1536 },
    });
    expect(() => planBuild({ model: 'text-embedding-3-large', dimensions: 3072 }, idle, [active], pgvector)).toThrow(
      /stores vector\(1536\)/,
    );
  });

  it('reuses a retired row of the same size, refuses one of another size', () => {
    const retired = model({ model: 'old', version: 3, dimensions: 512, state: 'retired', retiredAt: '2026-02-01T00:00:00.000Z' });
    expect(planBuild({ model: 'old', version: 3, dimensions: 512 }, idle, [active, retired], realArray)).toEqual({
      kind: 'start',
      target: { model: 'old', version: 3, dimensions: 512 },
      reuse: true,
    });
    expect(() => planBuild({ model: 'old', version: 3, dimensions: 256 }, idle, [active, retired], realArray)).toThrow(
      /embedded before with 512 dimensions/,
    );
  });

  it('labels and compares references by model and version', () => {
    expect(refLabel({ model: 'm', version: 2 })).toBe('m v2');
    expect(sameRef({ model: 'm', version: 2 }, { model: 'm', version: 2 })).toBe(true);
    expect(sameRef({ model: 'm', version: 2 }, { model: 'm', version: 3 })).toBe(false);
    expect(sameRef({ model: 'm', version: 2 }, { model: 'n', version: 2 })).toBe(false);
  });
});
