import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique, UpdateDateColumn } from 'typeorm';
import type { ProcessingStatus } from '../schema';

@Entity({ schema: 'upload_pipeline', name: 'documents' })
@Unique('documents_user_sha_key', ['userId', 'fileSha256'])
export class DocumentEntity {
  @PrimaryGeneratedColumn('uuid', { name: 'document_id' })
  documentId: string;

  @Column({ name: 'user_id', type: 'uuid' })
  userId: string;

  @Column({ name: 'filename', type: 'text' })
  filename: string;

  @Column({ name: 'mime', type: 'text' })
  mime: string;

  /** bigint comes back from pg as a string; the transformer turns it into a number (documents are < 2^53 bytes). */
  @Column({ name: 'bytes_len', type: 'bigint', transformer: { to: (v: number) => v, from: (v: string | null) => (v === null ? null : Number(v)) } })
  bytesLen: number;

  @Column({ name: 'file_sha256', type: 'char', length: 64 })
  fileSha256: string;

  @Column({ name: 'parsed_sha256', type: 'char', length: 64, nullable: true })
  parsedSha256: string | null;

  @Column({ name: 'raw_path', type: 'text' })
  rawPath: string;

  @Column({ name: 'parsed_path', type: 'text', nullable: true })
  parsedPath: string | null;

  @Column({ name: 'processing_status', type: 'text', default: 'pending' })
  processingStatus: ProcessingStatus;

  @Column({ name: 'ocr', type: 'boolean', default: false })
  ocr: boolean;

  @Column({ name: 'page_count', type: 'int', nullable: true })
  pageCount: number | null;

  @Column({ name: 'chunk_count', type: 'int', nullable: true })
  chunkCount: number | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt: Date;
}
