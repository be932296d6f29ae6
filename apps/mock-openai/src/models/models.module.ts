import { Module } from '@nestjs/common';
import { FaultsModule } from '../faults/faults.module';
import { ModelsController } from './models.controller';

@Module({ imports: [FaultsModule], controllers: [ModelsController] })
export class ModelsModule {}
