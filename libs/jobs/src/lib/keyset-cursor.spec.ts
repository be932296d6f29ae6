import { decodeCursor, encodeCursor, InvalidCursorError } from './keyset-cursor';

const id = '3f1c2a4e-5b6d-4e7f-8a9b-0c1d2e3f4a5b';

describe('keyset cursors', () => {
  it('round-trip the id and the exact microsecond timestamp', () => {
    const c = encodeCursor('d', { id, micros: '1732350000123456' });
    expect(decodeCursor('d', c)).toEqual({ id, micros: '1732350000123456' });
  });

  it("refuse garbage, a tampered id and the other list's cursors", () => {
    const jobCursor = encodeCursor('j', { id, micros: '1' });
    expect(() => decodeCursor('d', jobCursor)).toThrow(InvalidCursorError);
    for (const bad of ['garbage', '', Buffer.from(`d:not-a-uuid:1`).toString('base64url'), Buffer.from(`d:${id}:1:2`).toString('base64url'), Buffer.from(`d:${id}:x`).toString('base64url')]) {
      expect(() => decodeCursor('d', bad)).toThrow(InvalidCursorError);
    }
  });
});
