// Phase 4: search latency (top-10 over --search-chunks chunks), when the api and the stack allow it.
import { randomUUID } from 'node:crypto';
import { signToken } from './client.mjs';
import { searchAvailable, searchBench } from './search.mjs';

/** The results' `search` section: measured (searchBench's figures), or why not. */
export async function measureSearch({ o, target, db, token, runId, log }) {
  if (!(o.searchChunks > 0)) return { measured: false, reason: 'skipped (--search-chunks 0)' };
  const { apiUrl, embedderUrl, jwtSecret } = target;
  if (!(await searchAvailable(apiUrl, token)))
    return { measured: false, reason: 'not measured: no /api/v2/search' };
  if (!embedderUrl)
    return {
      measured: false,
      reason:
        "not measured: --url mode without --embedder-url (the chunks are embedded by the stack's embedder)",
    };
  const searchUser = randomUUID();
  return {
    measured: true,
    ...(await searchBench({
      db: db.client,
      apiUrl,
      embedderUrl,
      token: signToken(jwtSecret, searchUser),
      userId: searchUser,
      chunks: o.searchChunks,
      queries: o.searchQueries,
      budgetS: o.searchBudgetS,
      timeoutS: o.searchTimeoutS,
      runId,
      log,
    })),
  };
}
