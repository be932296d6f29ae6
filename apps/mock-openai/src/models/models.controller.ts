import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { ApiKeyGuard } from '../auth/api-key.guard';
import { modelNotFound } from '../common/openai-error';
import { FaultsService } from '../faults/faults.service';
import { EMBEDDING_MODELS, ModelObject, findModel, toModelObject } from './models.catalog';

@Controller('v1/models')
@UseGuards(ApiKeyGuard)
export class ModelsController {
  constructor(private readonly faults: FaultsService) {}

  @Get()
  async list(): Promise<{ object: 'list'; data: ModelObject[] }> {
    await this.faults.addLatency();
    return { object: 'list', data: EMBEDDING_MODELS.map(toModelObject) };
  }

  @Get(':id')
  async retrieve(@Param('id') id: string): Promise<ModelObject> {
    await this.faults.addLatency();
    const model = findModel(id);
    if (!model) throw modelNotFound(id);
    return toModelObject(model);
  }
}
