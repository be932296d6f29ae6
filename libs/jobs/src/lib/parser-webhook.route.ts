/**
 * Where the parser calls back: the api serves `POST /webhooks/llamaparse/:jobId`, and the worker gives the parser that
 * URL for each job. One definition for both.
 */
export const PARSER_WEBHOOK_ROUTE = { controller: 'webhooks', path: 'llamaparse/:jobId' } as const;

/** The webhook URL of a job, under the api's public base URL (with or without a trailing slash). */
export function parserWebhookUrl(baseUrl: string, jobId: string): string {
  const path = PARSER_WEBHOOK_ROUTE.path.replace(':jobId', encodeURIComponent(jobId));
  return `${baseUrl.replace(/\/+$/, '')}/${PARSER_WEBHOOK_ROUTE.controller}/${path}`;
}
