import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';

export class ReembedDto {
  @ApiProperty({ minLength: 1, maxLength: 200, example: 'text-embedding-3-large' })
  @IsString()
  @Length(1, 200)
  @Matches(/^[\w.:/-]+$/, { message: 'model may contain letters, digits and . _ : / - only' })
  model: string;

  @ApiPropertyOptional({ minimum: 1, description: 'Default: the active version + 1 for the same model name, else 1' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  version?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 16000, description: 'Default: the pgvector column size, else the active model\'s' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(16000)
  dimensions?: number;
}
