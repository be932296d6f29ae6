import 'reflect-metadata';
import { loadConfigOrExit } from '@app/config';
import { Logger } from '@nestjs/common';
import { AppConfig } from './app.config';
import { createApp } from './app.factory';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(AppConfig, process.env, 'mock-openai');
  const app = await createApp(config);
  app.enableShutdownHooks();
  await app.listen(config.MOCK_OPENAI_PORT, config.MOCK_OPENAI_HOST);
  new Logger('mock-openai').log(`listening on http://${config.MOCK_OPENAI_HOST}:${config.MOCK_OPENAI_PORT}`);
}

bootstrap().catch((err: unknown) => {
  new Logger('mock-openai').error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
