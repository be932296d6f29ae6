import { randomBytes } from 'node:crypto';

/** A file part: its bytes, content type and file name. */
export interface MultipartFile {
  readonly bytes: Buffer;
  readonly type: string;
  readonly fileName: string;
}

/** A `multipart/form-data` body as one Buffer, with the content type that names its boundary. */
export interface MultipartBody {
  readonly body: Buffer;
  readonly contentType: string;
}

/**
 * Encodes text fields and files as `multipart/form-data` (RFC 7578) in one Buffer, the way the WHATWG FormData
 * serializer does (names and file names with `"`, CR and LF percent-encoded; line breaks in text values as CRLF).
 * A FormData body made undici build a web ReadableStream, a Blob and a File for every upload (about 1.5 % of the
 * worker's CPU a document); a Buffer is written to the socket as it is, and can be sent again by a retry.
 */
export function multipartBody(parts: ReadonlyArray<readonly [name: string, value: string | MultipartFile]>): MultipartBody {
  const boundary = `----ingest${randomBytes(16).toString('hex')}`;
  const chunks: Buffer[] = [];
  for (const [name, value] of parts) {
    if (typeof value === 'string') {
      chunks.push(
        Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"\r\n\r\n${value.replace(/\r(?!\n)|(?<!\r)\n/g, '\r\n')}\r\n`),
      );
    } else {
      chunks.push(
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${escapeName(name)}"; filename="${escapeName(value.fileName)}"\r\n` +
            `Content-Type: ${value.type.replace(/[\r\n]/g, '') || 'application/octet-stream'}\r\n\r\n`,
        ),
        value.bytes,
        Buffer.from('\r\n'),
      );
    }
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

function escapeName(s: string): string {
  return s.replace(/\n/g, '%0A').replace(/\r/g, '%0D').replace(/"/g, '%22');
}
