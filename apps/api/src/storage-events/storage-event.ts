/** One created object named by a bucket notification. `bucket` is null when the event does not say. */
export interface CreatedObject {
  bucket: string | null;
  key: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** S3 event keys are URL-encoded (a space as `+`); a malformed encoding is kept as it is. */
function decodeKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/**
 * The objects an S3-shaped notification says were created: `Records[].s3.{bucket.name, object.key}` of records whose
 * `eventName` is `ObjectCreated:*` (AWS) or `s3:ObjectCreated:*` (MinIO). A MinIO body without records falls back to
 * its `EventName` and `Key` (`bucket/key`). Anything else (test events, deletions, malformed bodies) names nothing.
 */
export function objectCreatedKeys(body: unknown): CreatedObject[] {
  if (!isObject(body)) return [];
  const created = (name: unknown) => typeof name === 'string' && /^(s3:)?ObjectCreated:/.test(name);
  const out: CreatedObject[] = [];
  const records = Array.isArray(body['Records']) ? body['Records'] : [];
  for (const r of records) {
    if (!isObject(r) || !created(r['eventName']) || !isObject(r['s3'])) continue;
    const s3 = r['s3'];
    const object = isObject(s3['object']) ? s3['object'] : {};
    const bucket = isObject(s3['bucket']) && typeof s3['bucket']['name'] === 'string' ? s3['bucket']['name'] : null;
    if (typeof object['key'] === 'string' && object['key']) out.push({ bucket, key: decodeKey(object['key']) });
  }
  if (!records.length && created(body['EventName']) && typeof body['Key'] === 'string') {
    const i = body['Key'].indexOf('/');
    if (i > 0) out.push({ bucket: body['Key'].slice(0, i), key: decodeKey(body['Key'].slice(i + 1)) });
  }
  return out;
}
