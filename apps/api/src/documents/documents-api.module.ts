import { Module } from '@nestjs/common';
import { DocumentsModule } from '@app/jobs';
import { DocumentsController } from './documents.controller';

/** GET /api/v2/documents, GET and DELETE /api/v2/documents/:id. */
@Module({
  imports: [DocumentsModule],
  controllers: [DocumentsController],
})
export class DocumentsApiModule {}
