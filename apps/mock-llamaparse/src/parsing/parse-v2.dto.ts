/** Wire shapes of the LlamaParse v2 API (`/api/v2/parse`), as `@llamaindex/llama-cloud`'s `parsing` resource reads them. */

export const V2_TIERS = ['fast', 'cost_effective', 'agentic', 'agentic_plus'] as const;

export type V2JobStatus = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

/** The job: `POST /api/v2/parse/upload` answer, and `job` of `GET /api/v2/parse/:id`. */
export interface V2Job {
  id: string;
  project_id: string;
  status: V2JobStatus;
  name: string;
  tier: string;
  created_at: string;
  updated_at: string;
  error_message: string | null;
}

export interface V2HeadingItem {
  type: 'heading';
  level: number;
  value: string;
  md: string;
}

export interface V2TableItem {
  type: 'table';
  rows: string[][];
  md: string;
  csv: string;
  html: string;
}

export interface V2TextItem {
  type: 'text';
  value: string;
  md: string;
}

export interface V2ItemsPage {
  page_number: number;
  page_width: number;
  page_height: number;
  success: true;
  items: (V2HeadingItem | V2TableItem | V2TextItem)[];
}

/** `GET /api/v2/parse/:id?expand=...`: the content fields only when expanded and the job is COMPLETED. */
export interface V2GetResponse {
  job: V2Job;
  markdown?: { pages: { page_number: number; markdown: string; success: true }[] };
  markdown_full?: string;
  text?: { pages: { page_number: number; text: string }[] };
  text_full?: string;
  items?: { pages: V2ItemsPage[] };
  job_metadata?: Record<string, unknown>;
}
