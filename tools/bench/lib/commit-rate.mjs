// Phase 3: the server's commit rate (commit-probe.mjs), and the pipeline's write transactions as a share of it.
import { commitProbe } from './commit-probe.mjs';

/**
 * Probes the database's commit rate with `o.probeClients` clients, `o.probeSeconds` each, and adds
 * `pipeline_share`: phase 1's rates (`throughput`, its counters' `delta` over `wallS` seconds) against the best.
 */
export async function measureCommitRate({ o, databaseUrl, throughput, delta, wallS, log }) {
  log(`commit-rate probe: ${o.probeClients.join(', ')} client(s), ${o.probeSeconds} s each`);
  const probe = await commitProbe(databaseUrl, o.probeClients, o.probeSeconds);
  const best = Math.max(...probe.results.map((r) => r.commits_per_s));
  const db0 = throughput.database;
  const walPerS = delta.wal_sync !== undefined ? delta.wal_sync / wallS : null;
  probe.pipeline_share = {
    best_probe_commits_per_s: best,
    pipeline_write_xacts_per_s: db0.write_xacts_per_s,
    pipeline_write_xacts_fraction_of_probe: Number((db0.write_xacts_per_s / best).toFixed(3)),
    pipeline_all_commits_per_s: db0.commits_per_s,
    pipeline_wal_syncs_per_s: walPerS === null ? null : Number(walPerS.toFixed(1)),
    // if every write transaction of a document cost one probe commit: the database's ceiling
    docs_per_minute_ceiling_at_probe_rate: db0.write_xacts_per_doc
      ? Number(((best / db0.write_xacts_per_doc) * 60).toFixed(0))
      : null,
  };
  return probe;
}
