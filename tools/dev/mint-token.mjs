#!/usr/bin/env node
// Mints an HS256 JWT with Supabase-style claims for trying the api by hand (`npm run token`).
//
//   node tools/dev/mint-token.mjs [--sub <uuid>] [--email <address>] [--ttl <seconds>] [--secret <s>]
//                                 [--role <role>] [--aud <audience>] [--iss <issuer>] [--json]
//
// The secret defaults to $JWT_SECRET, else the api's development default. Prints the token, or with
// --json one line {"token","sub","exp"}. Exit code 2 on bad arguments.
import { createHmac } from 'node:crypto';
import { parseArgs } from 'node:util';

const DEV_SECRET = 'dev-secret-change-me-0123456789abcdef';
const DEV_USER = '00000000-0000-4000-8000-000000000001';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;

const USAGE = `usage: node tools/dev/mint-token.mjs [--sub <uuid>] [--email <address>] [--ttl <seconds>]
         [--secret <s>] [--role <role>] [--aud <audience>] [--iss <issuer>] [--json]
  --sub     user uuid (default ${DEV_USER})
  --ttl     lifetime in seconds (default 3600)
  --secret  HS256 secret (default $JWT_SECRET, else the development default)
  --role    role claim (default authenticated)
  --aud     audience claim (default authenticated)
  --json    print {"token","sub","exp"} instead of the bare token`;

function fail(message) {
  process.stderr.write(`mint-token: ${message}\n${USAGE}\n`);
  process.exit(2);
}

const base64url = (data) => Buffer.from(data).toString('base64url');

let values;
try {
  ({ values } = parseArgs({
    options: {
      sub: { type: 'string', default: DEV_USER },
      email: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      secret: { type: 'string' },
      role: { type: 'string', default: 'authenticated' },
      aud: { type: 'string', default: 'authenticated' },
      iss: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (e) {
  fail(e.message);
}
if (values.help) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
if (!UUID.test(values.sub)) fail(`--sub must be a uuid, got "${values.sub}"`);
if (!/^[1-9][0-9]{0,9}$/.test(values.ttl))
  fail(`--ttl must be a positive whole number of seconds, got "${values.ttl}"`);
const secret = values.secret || process.env.JWT_SECRET || DEV_SECRET;

const iat = Math.floor(Date.now() / 1000);
const exp = iat + Number(values.ttl);
const payload = {
  sub: values.sub,
  role: values.role,
  aud: values.aud,
  iat,
  exp,
  ...(values.email === undefined ? {} : { email: values.email }),
  ...(values.iss === undefined ? {} : { iss: values.iss }),
};
const signingInput = `${base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
const token = `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;

process.stdout.write(values.json ? `${JSON.stringify({ token, sub: values.sub, exp })}\n` : `${token}\n`);
