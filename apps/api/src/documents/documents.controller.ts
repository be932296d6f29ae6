import { Controller, Delete, Get, HttpCode, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AuthUser, CurrentUser } from '@app/auth';
import { ApiError } from '@app/http';
import { DocumentsService, InvalidCursorError } from '@app/jobs';
import { DocumentView, presentDocumentWithJob } from './document.presenter';
import { ListDocumentsQueryDto } from './list-documents.dto';

@ApiTags('documents')
@ApiBearerAuth()
@Controller('api/v2/documents')
export class DocumentsController {
  constructor(private readonly documents: DocumentsService) {}

  @Get()
  async list(@Query() q: ListDocumentsQueryDto, @CurrentUser() user: AuthUser): Promise<{ items: DocumentView[]; next_cursor: string | null }> {
    try {
      const page = await this.documents.list(user.userId, { limit: q.limit ?? 20, cursor: q.cursor });
      return { items: page.items.map(presentDocumentWithJob), next_cursor: page.nextCursor };
    } catch (e) {
      if (e instanceof InvalidCursorError) {
        throw new ApiError(400, 'validation_failed', 'Request validation failed', [{ field: 'cursor', messages: ['cursor is invalid'] }]);
      }
      throw e;
    }
  }

  @Get(':id')
  async get(@Param('id') id: string, @CurrentUser() user: AuthUser): Promise<DocumentView> {
    const d = await this.documents.get(user.userId, id);
    if (!d) throw new ApiError(404, 'not_found', 'Document not found');
    return presentDocumentWithJob(d);
  }

  /** Deletes the document, its job and events, its chunks and vectors, and its stored bytes and parsed text. */
  @Delete(':id')
  @HttpCode(204)
  async remove(@Param('id') id: string, @CurrentUser() user: AuthUser): Promise<void> {
    if (!(await this.documents.delete(user.userId, id))) throw new ApiError(404, 'not_found', 'Document not found');
  }
}
