/** The private PostgreSQL cluster (fixtures/harness/postgres.ts: the benchmarks start one too). */
export { startPostgres, type PrivateCluster } from '../../fixtures/harness/postgres.js';
