import { Module } from '@nestjs/common';
import { DocumentsService } from './documents.service';
import { JobsModule } from './jobs.module';

/** Provides DocumentsService. Needs DatabaseModule and StorageModule (STORAGE) in the app. */
@Module({
  imports: [JobsModule],
  providers: [DocumentsService],
  exports: [DocumentsService],
})
export class DocumentsModule {}
