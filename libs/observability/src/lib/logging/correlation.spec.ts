import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { correlationStorage, currentCorrelationId, withCorrelation } from './correlation';
import { correlationMiddleware } from './correlation.middleware';
import { createAppLogger, isQuietPath, pinoLoggerOptions } from './logging.config';
import { LogCapture } from '../../../test/log-capture';

describe('correlation context', () => {
  it('is undefined outside, set inside, across awaits and timers, and restored after nesting', async () => {
    expect(currentCorrelationId()).toBeUndefined();
    const seen = await withCorrelation('job-a', async () => {
      const before = currentCorrelationId();
      await new Promise((r) => setTimeout(r, 1));
      const afterTimer = currentCorrelationId();
      const inner = await withCorrelation('job-b', async () => currentCorrelationId());
      return [before, afterTimer, inner, currentCorrelationId()];
    });
    expect(seen).toEqual(['job-a', 'job-a', 'job-b', 'job-a']);
    expect(currentCorrelationId()).toBeUndefined();
  });

  it('concurrent jobs keep their own ids', async () => {
    const run = (id: string, delay: number) =>
      withCorrelation(id, async () => {
        await new Promise((r) => setTimeout(r, delay));
        return currentCorrelationId();
      });
    await expect(Promise.all([run('x', 5), run('y', 1), run('z', 3)])).resolves.toEqual(['x', 'y', 'z']);
    expect(correlationStorage.getStore()).toBeUndefined();
  });
});

describe('correlationMiddleware', () => {
  function reqRes(headers: Record<string, string> = {}, id?: string): { req: IncomingMessage & { id?: string }; res: ServerResponse } {
    const req = new IncomingMessage(new Socket()) as IncomingMessage & { id?: string };
    Object.assign(req.headers, headers);
    if (id) req.id = id;
    return { req, res: new ServerResponse(req) };
  }
  const run = (req: IncomingMessage, res: ServerResponse): Promise<string | undefined> =>
    new Promise((resolve) => correlationMiddleware(req, res, () => setImmediate(() => resolve(currentCorrelationId()))));

  it('runs the request inside req.id', async () => {
    const { req, res } = reqRes({}, 'from-middleware');
    await expect(run(req, res)).resolves.toBe('from-middleware');
  });

  it('falls back to a sane x-request-id, else a fresh UUID it sets as req.id and echoes', async () => {
    const a = reqRes({ 'x-request-id': 'client-id-1' });
    await expect(run(a.req, a.res)).resolves.toBe('client-id-1');
    const b = reqRes({ 'x-request-id': 'bad id with spaces' });
    const id = await run(b.req, b.res);
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.req.id).toBe(id);
    expect(b.res.getHeader('x-request-id')).toBe(id);
  });
});

describe('app logger', () => {
  it('writes JSON lines with app, label level and the current correlation_id (mixin)', async () => {
    const capture = new LogCapture();
    const logger = createAppLogger({ app: 'worker', level: 'info', destination: capture });
    logger.info('outside');
    await withCorrelation('corr-1', async () => {
      await Promise.resolve();
      logger.info({ stage: 'parsing' }, 'inside');
      logger.debug('below the level');
    });
    const [outside, inside, ...rest] = capture.entries;
    expect(rest).toHaveLength(0);
    expect(outside).toMatchObject({ app: 'worker', level: 'info', msg: 'outside' });
    expect(outside).not.toHaveProperty('correlation_id');
    expect(inside).toMatchObject({ app: 'worker', level: 'info', msg: 'inside', stage: 'parsing', correlation_id: 'corr-1' });
    expect(typeof inside['time']).toBe('string');
  });

  it('does not write correlation_id twice when the logger already binds one', () => {
    const capture = new LogCapture();
    const child = createAppLogger({ app: 'api', level: 'info', destination: capture }).child({ correlation_id: 'req-1' });
    withCorrelation('req-1', () => child.info('x'));
    expect(capture.raw[0].match(/"correlation_id"/g)).toHaveLength(1);
    expect(capture.entries[0]['correlation_id']).toBe('req-1');
  });

  it('pretty uses the pino-pretty transport; JSON is the default', () => {
    const pretty = pinoLoggerOptions({ app: 'a', level: 'debug', pretty: true });
    expect(pretty.transport).toMatchObject({ target: 'pino-pretty' });
    expect(pretty.level).toBe('debug');
    const json = pinoLoggerOptions({ app: 'a', level: 'info' });
    expect(json.transport).toBeUndefined();
    expect(json.formatters?.level?.('warn', 40)).toEqual({ level: 'warn' });
  });

  it('an unknown level is refused at start', () => {
    expect(() => createAppLogger({ app: 'a', level: 'loud', destination: new LogCapture() })).toThrow(/unknown log level "loud"/);
  });

  it('quiet paths: health and metrics only', () => {
    expect(['/health/live', '/health/ready', '/health', '/metrics'].map(isQuietPath)).toEqual([true, true, true, true]);
    expect(['/healthz', '/metrics/x', '/api/v2/jobs', '/'].map(isQuietPath)).toEqual([false, false, false, false]);
  });
});
