import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsIn, IsInt, IsOptional, IsString, IsUUID, Length, Matches, Max, Min } from 'class-validator';
import { MAX_SEARCH_TOP_K, SearchMode } from '@app/search';

export const SEARCH_MODES: readonly SearchMode[] = ['vector', 'hybrid'];

export class SearchDto {
  @ApiProperty({ minLength: 1, maxLength: 2000, example: 'How are documents split into chunks?' })
  @IsString()
  @Length(1, 2000)
  @Matches(/\S/, { message: 'query must not be blank' })
  query: string;

  @ApiPropertyOptional({ default: 10, minimum: 1, maximum: MAX_SEARCH_TOP_K })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_SEARCH_TOP_K)
  top_k?: number;

  @ApiPropertyOptional({ type: [String], maxItems: 100, description: 'Search only these documents (your own)' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @IsUUID('all', { each: true })
  document_ids?: string[];

  @ApiPropertyOptional({ enum: SEARCH_MODES, default: 'vector', description: 'hybrid: reciprocal rank fusion of vector and full-text ranking' })
  @IsOptional()
  @IsIn(SEARCH_MODES as string[])
  mode?: SearchMode;
}
