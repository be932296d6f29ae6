import { LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { PermanentError, TransientError } from '@app/errors';
import {
  BuildConflictError,
  BuildRequestError,
  EmbeddingModelsService,
  EmbeddingsOverview,
  ModelNotFoundError,
  ModelRef,
  ReembedService,
  refLabel,
  sameRef,
} from '@app/embeddings';
import type { WorkerConfig } from '../app.config';
import { ReembedCommandModule } from './reembed-command.module';

export const REEMBED_USAGE = `usage: node dist/apps/worker/main.js reembed [options]

Re-embeds every stored chunk with another embedding model or version, side by side with the active one
(nothing is parsed again); search switches over when every chunk has the new vectors.

  --status                          print the registered models and their chunk counts, and exit
  --model M [--version N] [--dimensions D]
                                    start re-embedding to M (version: the active one + 1 for the same
                                    name, else 1; dimensions: the pgvector column's, else the active model's)
      --run                         do the work in this process until search has switched over
      --wait                        wait (the running workers do the work) until search has switched over
      --timeout S                   give up waiting after S seconds (default 3600)
  --cancel --model M --version N    cancel a build (its vectors are deleted) or forget a retired model

Exit codes: 0 done, 2 bad usage or refused request (the message says why), 3 timed out, 75 the embedder
is unavailable (try again later).`;

interface Args {
  status: boolean;
  cancel: boolean;
  run: boolean;
  wait: boolean;
  model?: string;
  version?: number;
  dimensions?: number;
  timeoutSec: number;
}

/** Thrown for a command line that cannot be run; the message is printed with the usage. */
export class UsageError extends Error {}

const positiveInt = (name: string, v: string | undefined): number | undefined => {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return Number(v);
};

/** Parses the command's arguments (everything after `reembed`). */
export function parseReembedArgs(argv: string[]): Args {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        status: { type: 'boolean', default: false },
        cancel: { type: 'boolean', default: false },
        run: { type: 'boolean', default: false },
        wait: { type: 'boolean', default: false },
        model: { type: 'string' },
        version: { type: 'string' },
        dimensions: { type: 'string' },
        timeout: { type: 'string' },
      },
    }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const a: Args = {
    status: !!parsed.status,
    cancel: !!parsed.cancel,
    run: !!parsed.run,
    wait: !!parsed.wait,
    model: parsed.model,
    version: positiveInt('version', parsed.version),
    dimensions: positiveInt('dimensions', parsed.dimensions),
    timeoutSec: positiveInt('timeout', parsed.timeout) ?? 3600,
  };
  if (a.status) {
    if (a.cancel || a.run || a.wait || a.model) throw new UsageError('--status takes no other option');
    return a;
  }
  if (!a.model) throw new UsageError('--model is required (or --status)');
  if (a.cancel && (a.version === undefined || a.run || a.wait || a.dimensions !== undefined))
    throw new UsageError('--cancel takes --model and --version only');
  if (a.run && a.wait) throw new UsageError('--run and --wait exclude each other');
  return a;
}

const summary = (o: EmbeddingsOverview) =>
  o.models.map((m) => `${refLabel(m)} ${m.state} ${m.chunks}/${o.totalChunks}`).join(', ');

/**
 * `node main.js reembed ...`: runs against the database directly (an operator's tool; the api has the same
 * through POST /api/v2/embeddings/reembed). Returns the exit code.
 */
export async function runReembedCommand(config: WorkerConfig, argv: string[], out = process.stdout, err = process.stderr): Promise<number> {
  let args: Args;
  try {
    args = parseReembedArgs(argv);
  } catch (e) {
    err.write(`${(e as Error).message}\n\n${REEMBED_USAGE}\n`);
    return 2;
  }
  // stdout carries the command's JSON only: warnings and errors go to stderr
  const logger: LoggerService = {
    log: () => undefined,
    warn: (m: unknown) => void err.write(`warning: ${String(m)}\n`),
    error: (m: unknown) => void err.write(`error: ${String(m)}\n`),
  };
  const app = await NestFactory.createApplicationContext(ReembedCommandModule.forRoot(config), { logger });
  const models = app.get(EmbeddingModelsService);
  const reembed = app.get(ReembedService);
  const print = (v: unknown) => out.write(`${JSON.stringify(v, null, 2)}\n`);
  try {
    if (args.status) {
      print(await models.overview());
      return 0;
    }
    const model = args.model as string;
    if (args.cancel) {
      print({ removed: await models.remove({ model, version: args.version as number }) });
      return 0;
    }
    const { model: target, started } = await models.startBuild(
      { model, version: args.version, dimensions: args.dimensions },
      'command:reembed',
    );
    err.write(`${started ? 'started' : 'already running'}: re-embedding to ${refLabel(target)} (${target.dimensions} dimensions)\n`);
    if (!args.run && !args.wait) {
      print(await models.get(target));
      return 0;
    }
    const deadline = Date.now() + args.timeoutSec * 1000;
    let last = 0;
    for (;;) {
      if (args.run) {
        const step = await reembed.step();
        if (step.kind === 'idle' && (await isActive(models, target))) break;
        if (step.kind === 'idle') await sleep(200);
      } else {
        if (await isActive(models, target)) break;
        await sleep(1000);
      }
      if (Date.now() - last > 2000) {
        last = Date.now();
        err.write(`${summary(await models.overview())}\n`);
      }
      if (Date.now() > deadline) {
        err.write(`timed out after ${args.timeoutSec} s; the build goes on in the workers (--status shows it)\n`);
        return 3;
      }
    }
    const overview = await models.overview();
    err.write(`switched over: search reads ${refLabel(target)} (${summary(overview)})\n`);
    print(overview);
    return 0;
  } catch (e) {
    if (e instanceof BuildRequestError || e instanceof BuildConflictError || e instanceof ModelNotFoundError) {
      err.write(`refused: ${e.message}\n`);
      return 2;
    }
    if (e instanceof TransientError) {
      err.write(`the embedding service is unavailable (${e.code}): ${e.message}\n`);
      return 75;
    }
    if (e instanceof PermanentError) {
      err.write(`the embedding service failed (${e.code}): ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    await app.close();
  }
}

async function isActive(models: EmbeddingModelsService, target: ModelRef): Promise<boolean> {
  const { active } = await models.inUse();
  return sameRef(active, target);
}
