import { loadConfig } from '@app/config';
import { Logger } from '@nestjs/common';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { MockLlamaParseConfig } from '../app.config';
import { FaultConfigService } from '../faults/fault-config.service';
import { StatsService } from '../faults/stats.service';
import { WebhookSender, WebhookPayload } from './webhook.sender';
import { signWebhookBody } from './webhook.signature';
import { WebhookReceiver } from '../../test/helpers/webhook-receiver';

const payload: WebhookPayload = { id: 'job-1', status: 'SUCCESS', event: 'parse.success', job_metadata: { job_pages: 2 } };

function setup(env: Record<string, string> = {}): { sender: WebhookSender; stats: StatsService } {
  const config = loadConfig(MockLlamaParseConfig, { MOCK_LLAMAPARSE_WEBHOOK_BACKOFF_MS: '5', ...env });
  const stats = new StatsService();
  return { sender: new WebhookSender(config, new FaultConfigService(config), stats), stats };
}

beforeAll(() => Logger.overrideLogger(false));

describe('signWebhookBody', () => {
  it('is sha256=<hex HMAC-SHA256 of the raw body>', () => {
    const body = '{"id":"x"}';
    expect(signWebhookBody('k', body)).toBe(`sha256=${createHmac('sha256', 'k').update(body).digest('hex')}`);
    expect(signWebhookBody('k', body)).toMatch(/^sha256=[0-9a-f]{64}$/);
  });
});

describe('WebhookSender', () => {
  let receiver: WebhookReceiver | undefined;
  afterEach(async () => {
    await receiver?.close();
    receiver = undefined;
  });

  it('POSTs the JSON payload signed with the job secret', async () => {
    receiver = await WebhookReceiver.start();
    const { sender, stats } = setup();
    await expect(sender.send({ url: receiver.url('/hooks/1'), secret: 's3cret' }, payload)).resolves.toBe('sent');
    expect(receiver.received).toHaveLength(1);
    const hook = receiver.received[0];
    expect(hook.method).toBe('POST');
    expect(hook.path).toBe('/hooks/1');
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.headers['x-webhook-signature']).toBe(signWebhookBody('s3cret', hook.rawBody));
    expect(JSON.parse(hook.rawBody.toString())).toEqual(payload);
    expect(stats.snapshot().webhooks).toEqual({ sent: 1, dropped: 0, failed: 0, retries: 0 });
  });

  it('sends no signature header without a secret', async () => {
    receiver = await WebhookReceiver.start();
    const { sender } = setup();
    await sender.send({ url: receiver.url() }, payload);
    expect(receiver.received[0].headers['x-webhook-signature']).toBeUndefined();
  });

  it('retries 5xx and 429 answers, then succeeds', async () => {
    receiver = await WebhookReceiver.start([503, 429, 200]);
    const { sender, stats } = setup();
    await expect(sender.send({ url: receiver.url(), secret: 'k' }, payload)).resolves.toBe('sent');
    expect(receiver.received).toHaveLength(3);
    expect(new Set(receiver.received.map((r) => r.rawBody.toString())).size).toBe(1);
    expect(stats.snapshot().webhooks).toMatchObject({ sent: 1, failed: 0, retries: 2 });
  });

  it('gives up after the configured retries', async () => {
    receiver = await WebhookReceiver.start([500]);
    const { sender, stats } = setup({ MOCK_LLAMAPARSE_WEBHOOK_RETRIES: '2' });
    await expect(sender.send({ url: receiver.url() }, payload)).resolves.toBe('failed');
    expect(receiver.received).toHaveLength(3);
    expect(stats.snapshot().webhooks).toMatchObject({ sent: 0, failed: 1, retries: 2 });
  });

  it('does not retry other 4xx answers', async () => {
    receiver = await WebhookReceiver.start([401]);
    const { sender } = setup();
    await expect(sender.send({ url: receiver.url() }, payload)).resolves.toBe('failed');
    expect(receiver.received).toHaveLength(1);
  });

  it('fails a 3xx answer without a retry (redirects are not followed)', async () => {
    receiver = await WebhookReceiver.start([307]);
    const { sender, stats } = setup();
    await expect(sender.send({ url: receiver.url() }, payload)).resolves.toBe('failed');
    expect(receiver.received).toHaveLength(1);
    expect(stats.snapshot().webhooks).toMatchObject({ sent: 0, failed: 1, retries: 0 });
  });

  it('retries when nothing listens and times out a receiver that never answers', async () => {
    const { sender, stats } = setup({ MOCK_LLAMAPARSE_WEBHOOK_RETRIES: '1', MOCK_LLAMAPARSE_WEBHOOK_TIMEOUT_MS: '100' });
    await expect(sender.send({ url: 'http://127.0.0.1:1/nothing-here' }, payload)).resolves.toBe('failed');
    expect(stats.snapshot().webhooks.retries).toBe(1);

    const silent = createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/`;
      await expect(sender.send({ url }, payload)).resolves.toBe('failed');
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('drops every webhook at drop rate 1 without calling the receiver', async () => {
    receiver = await WebhookReceiver.start();
    const { sender, stats } = setup({ MOCK_LLAMAPARSE_DROP_WEBHOOK_RATE: '1' });
    await expect(sender.send({ url: receiver.url() }, payload)).resolves.toBe('dropped');
    expect(receiver.received).toHaveLength(0);
    expect(stats.snapshot().webhooks.dropped).toBe(1);
  });

  it('stops retrying when the app shuts down', async () => {
    receiver = await WebhookReceiver.start([500]);
    const { sender } = setup({ MOCK_LLAMAPARSE_WEBHOOK_BACKOFF_MS: '60000' });
    const outcome = sender.send({ url: receiver.url() }, payload);
    await receiver.waitFor(1);
    await sender.onModuleDestroy();
    await expect(outcome).resolves.toBe('failed');
    expect(receiver.received).toHaveLength(1);
  });
});
