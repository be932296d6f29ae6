import { DynamicModule, Module } from '@nestjs/common';
import { JobsModule } from './jobs.module';
import { UploadChecksStore } from './store/upload-checks';
import { UPLOAD_CONFIRMATION_OPTIONS, UploadConfirmationOptions, UploadConfirmationService } from './upload-confirmation.service';

/** Upload confirmation (the reconciler's, `complete`'s and the bucket events' one logic). Needs DatabaseModule and StorageModule. */
@Module({})
export class UploadConfirmationModule {
  static forRoot(opts: UploadConfirmationOptions): DynamicModule {
    return {
      module: UploadConfirmationModule,
      imports: [JobsModule],
      providers: [{ provide: UPLOAD_CONFIRMATION_OPTIONS, useValue: opts }, UploadChecksStore, UploadConfirmationService],
      exports: [UploadConfirmationService],
    };
  }
}
