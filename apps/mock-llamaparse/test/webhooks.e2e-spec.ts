import { createHmac, timingSafeEqual } from 'node:crypto';
import request from 'supertest';
import { buildZip, samplePdf } from '@app/testing';
import { TestApp, startTestApp, waitForJob } from './helpers/test-app';
import { WebhookReceiver } from './helpers/webhook-receiver';

/** Verifies the signature the way a receiver (our api) does: HMAC of the raw bytes, constant-time compare. */
function signatureValid(secret: string, rawBody: Buffer, header: string | string[] | undefined): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

describe('mock-llamaparse webhooks (e2e)', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    t = await startTestApp({ MOCK_LLAMAPARSE_WEBHOOK_BACKOFF_MS: '10' });
  });
  beforeEach(async () => {
    receiver = await WebhookReceiver.start();
    await request(t.http).put('/_mock/config').send({ dropWebhookRate: 0 }).expect(200);
    await request(t.http).delete('/_mock/stats').expect(204);
  });
  afterEach(() => receiver.close());
  afterAll(() => t.close());

  async function upload(bytes: Buffer, filename: string, fields: Record<string, string>): Promise<string> {
    const req = request(t.http).post('/api/v1/parsing/upload').attach('file', bytes, filename);
    for (const [k, v] of Object.entries(fields)) req.field(k, v);
    const res = await req;
    expect(res.status).toBe(200);
    return (res.body as { id: string }).id;
  }

  it('POSTs a signed parse.success webhook when the job succeeds', async () => {
    const secret = 'whsec_0123456789abcdef';
    const id = await upload(samplePdf(), 'r.pdf', { webhook_url: receiver.url('/webhooks/llamaparse/job-42'), webhook_secret: secret });
    await receiver.waitFor(1);
    const hook = receiver.received[0];
    expect(hook.method).toBe('POST');
    expect(hook.path).toBe('/webhooks/llamaparse/job-42');
    expect(hook.headers['content-type']).toBe('application/json');
    expect(signatureValid(secret, hook.rawBody, hook.headers['x-webhook-signature'])).toBe(true);
    expect(signatureValid('another-secret', hook.rawBody, hook.headers['x-webhook-signature'])).toBe(false);
    expect(receiver.json(0)).toEqual({ id, status: 'SUCCESS', event: 'parse.success', job_metadata: { job_pages: 2 } });
    expect((await waitForJob(t.http, id)).status).toBe('SUCCESS');
  });

  it('POSTs a signed parse.error webhook when the job fails', async () => {
    const id = await upload(buildZip([{ name: 'a', data: 'b' }]), 'broken.docx', { webhook_url: receiver.url(), webhook_secret: 'k' });
    await receiver.waitFor(1);
    const hook = receiver.received[0];
    expect(signatureValid('k', hook.rawBody, hook.headers['x-webhook-signature'])).toBe(true);
    expect(receiver.json(0)).toEqual({ id, status: 'ERROR', event: 'parse.error', error_message: expect.stringMatching(/Could not read DOCX/) });
  });

  it('sends the webhook unsigned when no secret was given', async () => {
    await upload(Buffer.from('hi'), 'a.txt', { webhook_url: receiver.url() });
    await receiver.waitFor(1);
    expect(receiver.received[0].headers['x-webhook-signature']).toBeUndefined();
  });

  it('retries a receiver that answers 5xx', async () => {
    await receiver.close();
    receiver = await WebhookReceiver.start([502, 200]);
    await upload(Buffer.from('hi'), 'a.txt', { webhook_url: receiver.url(), webhook_secret: 'k' });
    await receiver.waitFor(2);
    expect(receiver.received[1].rawBody.equals(receiver.received[0].rawBody)).toBe(true);
    const stats = (await request(t.http).get('/_mock/stats')).body as { webhooks: Record<string, number> };
    expect(stats.webhooks).toMatchObject({ retries: 1 });
  });

  it('drops the webhook at drop rate 1: no call, job still SUCCESS', async () => {
    await request(t.http).put('/_mock/config').send({ dropWebhookRate: 1 }).expect(200);
    const id = await upload(Buffer.from('hi'), 'a.txt', { webhook_url: receiver.url(), webhook_secret: 'k' });
    expect(await waitForJob(t.http, id)).toEqual({ id, status: 'SUCCESS' });
    // The drop is decided when the job finishes; give a (wrongly) sent webhook time to arrive.
    await new Promise((r) => setTimeout(r, 200));
    expect(receiver.received).toHaveLength(0);
    const stats = (await request(t.http).get('/_mock/stats')).body as { webhooks: Record<string, number> };
    expect(stats.webhooks).toEqual({ sent: 0, dropped: 1, failed: 0, retries: 0 });
  });

  it('counts sent webhooks in the stats', async () => {
    await upload(Buffer.from('hi'), 'a.txt', { webhook_url: receiver.url() });
    await receiver.waitFor(1);
    // The sender counts once it has read the receiver's answer, just after the receiver logged the call.
    let sent = 0;
    for (let i = 0; i < 200 && sent === 0; i++) {
      sent = ((await request(t.http).get('/_mock/stats')).body as { webhooks: Record<string, number> }).webhooks.sent;
      if (sent === 0) await new Promise((r) => setTimeout(r, 10));
    }
    expect(sent).toBe(1);
  });
});
