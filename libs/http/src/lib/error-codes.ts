import { STATUS_CODES } from 'node:http';

const CODES: Readonly<Record<number, string>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  410: 'gone',
  412: 'precondition_failed',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'rate_limited',
  500: 'internal_error',
  501: 'not_implemented',
  502: 'bad_gateway',
  503: 'unavailable',
  504: 'gateway_timeout',
};

/** The default error `code` for an HTTP status (snake_case of its reason phrase when not listed). */
export function codeForStatus(status: number): string {
  const known = CODES[status];
  if (known) return known;
  const phrase = STATUS_CODES[status];
  if (!phrase) return status >= 500 ? 'internal_error' : 'bad_request';
  return phrase
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

/** The standard reason phrase for a status ("Not Found"), used when an error has no safe message. */
export function reasonPhrase(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}
