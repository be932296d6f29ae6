import { createHmac, createSign, KeyObject } from 'node:crypto';

/** Test-only JWT encoder built on node:crypto, so tests can forge what no library would sign. */
export type CraftAlg = 'HS256' | 'HS512' | 'RS256' | 'none';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export function craftToken(
  payload: Record<string, unknown>,
  opts: { alg: CraftAlg; secret?: string; privateKey?: KeyObject; header?: Record<string, unknown> },
): string {
  const input = `${b64({ alg: opts.alg, typ: 'JWT', ...opts.header })}.${b64(payload)}`;
  switch (opts.alg) {
    case 'none':
      return `${input}.`;
    case 'HS256':
    case 'HS512':
      return `${input}.${createHmac(opts.alg === 'HS256' ? 'sha256' : 'sha512', opts.secret ?? '')
        .update(input)
        .digest('base64url')}`;
    case 'RS256': {
      if (!opts.privateKey) throw new Error('RS256 needs a private key');
      return `${input}.${createSign('RSA-SHA256').update(input).sign(opts.privateKey).toString('base64url')}`;
    }
  }
}

/** Replaces a token's payload, keeping its header and (now wrong) signature. */
export function withPayload(token: string, payload: Record<string, unknown>): string {
  const [header, , signature] = token.split('.');
  return `${header}.${b64(payload)}.${signature}`;
}

export function nowSec(): number {
  return Math.floor(Date.now() / 1000);
}
