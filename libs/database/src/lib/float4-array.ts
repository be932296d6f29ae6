/** pg_type oid of float4 (`real`), the element type a binary `real[]` names. */
const FLOAT4_OID = 700;

/**
 * Vectors as ONE `real[]` parameter, all of them end to end, in PostgreSQL's binary array format (what array_recv
 * reads). node-postgres binds a Buffer in binary, so the statement must give the parameter its type (`$n::real[]`);
 * each vector is then a slice of it (`float4Slice`). No text to print or parse: a statement with one vector of 1,536
 * floats took 1.26 ms of server CPU as text ('0.1,...' split by string_to_array and cast) and 0.53 ms so, and
 * 1.6 ms of client CPU against 0.5 (v.join(',') alone 0.7 ms; tools/bench/vector-params.mjs). A value is stored as the
 * float4 nearest to it: the embedder's float32 values exactly, as through their text.
 */
export function float4Array(vectors: readonly ArrayLike<number>[]): Buffer {
  const dims = vectors[0]?.length ?? 0;
  if (vectors.some((v) => v.length !== dims)) throw new Error('float4Array: vectors of different lengths');
  const n = vectors.length * dims;
  if (n === 0) {
    // an empty array has no dimensions
    const empty = Buffer.alloc(12);
    empty.writeInt32BE(FLOAT4_OID, 8);
    return empty;
  }
  const buf = Buffer.allocUnsafe(20 + 8 * n);
  // DataView's big-endian setters are several times cheaper than Buffer's writeFloatBE
  const out = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  out.setInt32(0, 1); // dimensions
  out.setInt32(4, 0); // no nulls
  out.setInt32(8, FLOAT4_OID);
  out.setInt32(12, n); // length
  out.setInt32(16, 1); // lower bound
  let o = 20;
  for (const v of vectors) {
    for (let i = 0; i < dims; i++) {
      out.setInt32(o, 4);
      out.setFloat32(o + 4, v[i]);
      o += 8;
    }
  }
  return buf;
}

/**
 * The SQL of vector `n` (1-based, e.g. an unnest's ordinality) of a `float4Array` parameter of `dims`-long vectors: a
 * one-dimensional real[] (`param`, `n` and `dims` are SQL expressions).
 */
export function float4Slice(param: string, n: string, dims: string): string {
  return `(${param}::real[])[(${n} - 1) * ${dims}::int + 1 : ${n} * ${dims}::int]`;
}
