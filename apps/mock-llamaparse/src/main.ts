import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { loadConfigOrExit } from '@app/config';
import { MockLlamaParseConfig } from './app.config';
import { createApp } from './app.factory';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit(MockLlamaParseConfig, process.env, 'mock-llamaparse');
  const app = await createApp(config);
  app.enableShutdownHooks();
  await app.listen(config.MOCK_LLAMAPARSE_PORT, config.MOCK_LLAMAPARSE_HOST);
  Logger.log(`listening on http://${config.MOCK_LLAMAPARSE_HOST}:${config.MOCK_LLAMAPARSE_PORT}`, 'mock-llamaparse');
}

void bootstrap();
