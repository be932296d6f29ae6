import { TextDecoder } from 'node:util';
import { DocumentParseError } from './parser';

/**
 * Decodes bytes strictly (invalid sequences fail instead of becoming U+FFFD); a leading BOM is dropped.
 * `encoding` is a WHATWG label; unknown labels fall back to UTF-8.
 */
export function decodeStrict(bytes: Uint8Array, encoding = 'utf-8'): string {
  let decoder: TextDecoder;
  try {
    decoder = new TextDecoder(encoding, { fatal: true });
  } catch {
    decoder = new TextDecoder('utf-8', { fatal: true });
  }
  try {
    return decoder.decode(bytes);
  } catch {
    throw new DocumentParseError(`File is not valid ${decoder.encoding.toUpperCase()} text`, 'INVALID_ENCODING');
  }
}
