import { loadConfig } from '@app/config';
import { Logger } from '@nestjs/common';
import { MockLlamaParseConfig } from '../app.config';
import { DetailException } from '../common/detail.exception';
import { FaultConfigService } from '../faults/fault-config.service';
import { StatsService } from '../faults/stats.service';
import { ParserRegistry } from '../parsers/parser.registry';
import { WebhookSender } from '../webhooks/webhook.sender';
import { Job } from './job.model';
import { JobsService } from './jobs.service';

beforeAll(() => Logger.overrideLogger(false));

function makeService(env: Record<string, string>): { jobs: JobsService; stats: StatsService } {
  const config = loadConfig(MockLlamaParseConfig, env);
  const faults = new FaultConfigService(config);
  const stats = new StatsService();
  const jobs = new JobsService(config, new ParserRegistry(), new WebhookSender(config, faults, stats), faults, stats);
  return { jobs, stats };
}

const txt = (s: string): { type: 'txt'; filename: string; bytes: Buffer } => ({ type: 'txt', filename: 'a.txt', bytes: Buffer.from(s) });

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('JobsService', () => {
  const services: JobsService[] = [];
  const track = (s: { jobs: JobsService; stats: StatsService }): { jobs: JobsService; stats: StatsService } => {
    services.push(s.jobs);
    return s;
  };
  afterEach(async () => {
    await Promise.all(services.splice(0).map((s) => s.onModuleDestroy()));
  });

  it('parses in the background, keeps the result and releases the bytes', async () => {
    const { jobs, stats } = track(makeService({}));
    const job = jobs.submit(txt('hello\r\nworld'));
    expect(job.status).toBe('PENDING');
    await until(() => job.status !== 'PENDING');
    expect(job).toMatchObject({ status: 'SUCCESS', result: { markdown: 'hello\nworld', pages: 1 } });
    expect(job.bytes).toBeUndefined();
    expect(stats.snapshot()).toMatchObject({ uploads: 1, parsed: { txt: 1 } });
  });

  it('forgets finished jobs after the TTL', async () => {
    const { jobs } = track(makeService({ MOCK_LLAMAPARSE_JOB_TTL_MS: '20' }));
    const job = jobs.submit(txt('x'));
    await until(() => job.status === 'SUCCESS');
    expect(jobs.get(job.id)).toBe(job);
    await until(() => jobs.get(job.id) === undefined);
  });

  it('evicts the oldest finished job at the cap, and refuses when every held job is pending', async () => {
    const { jobs } = track(makeService({ MOCK_LLAMAPARSE_MAX_JOBS: '2' }));
    const first = jobs.submit(txt('1'));
    const second = jobs.submit(txt('2'));
    await until(() => first.status === 'SUCCESS' && second.status === 'SUCCESS');
    const third = jobs.submit(txt('3'));
    expect(jobs.get(first.id)).toBeUndefined();
    expect(jobs.get(second.id)).toBe(second);
    expect(jobs.get(third.id)).toBe(third);

    const slow = track(makeService({ MOCK_LLAMAPARSE_MAX_JOBS: '1', MOCK_LLAMAPARSE_LATENCY_MS: '60000' })).jobs;
    slow.submit(txt('a'));
    expect(() => slow.submit(txt('b'))).toThrow(DetailException);
  });

  it('cancels waiting and sleeping jobs on shutdown and then refuses uploads', async () => {
    const { jobs, stats } = makeService({ MOCK_LLAMAPARSE_CONCURRENCY: '1', MOCK_LLAMAPARSE_LATENCY_MS: '60000' });
    const a: Job = jobs.submit(txt('a'));
    const b: Job = jobs.submit(txt('b'));
    await jobs.onModuleDestroy();
    expect([a.status, b.status]).toEqual(['CANCELED', 'CANCELED']);
    expect(stats.snapshot().canceled).toBe(2);
    expect(jobs.accepting).toBe(false);
    expect(() => jobs.submit(txt('c'))).toThrow('Server is shutting down');
  });

  it('fails a job whose bytes cannot be parsed', async () => {
    const { jobs, stats } = track(makeService({}));
    const job = jobs.submit({ type: 'pdf', filename: 'x.pdf', bytes: Buffer.from('nope') });
    await until(() => job.status !== 'PENDING');
    expect(job).toMatchObject({ status: 'ERROR', errorCode: 'PDF_PARSE_ERROR' });
    expect(job.errorMessage).toMatch(/Could not read PDF file/);
    expect(stats.snapshot().parseErrors).toBe(1);
  });
});
