import { existsSync } from 'node:fs';
import { loadConfig } from '../config/load.js';
import { databasePath, signingKeyPath } from '../daemon/daemon.js';
import { MpocertError } from '../errors.js';
import { CertificateStore } from '../store/certificate-store.js';
import { openDatabase } from '../store/database.js';
import { loadOrCreateSigningKey } from '../store/signing-key.js';

/**
 * Checks the database offline (the daemon may be running: WAL lets us read beside it).
 * Exit 0 when every certificate checked is intact, 1 when any is not.
 */
export async function verifyCommand(opts: { id?: number; config: string }): Promise<number> {
  const cfg = loadConfig(opts.config);
  const path = databasePath(cfg);
  if (!existsSync(path)) throw new MpocertError('NO_DATABASE', `no database at ${path}`, { config: cfg.source });
  const db = openDatabase(path);
  try {
    const store = new CertificateStore(db, loadOrCreateSigningKey(signingKeyPath(cfg)));
    if (opts.id !== undefined && !store.get(opts.id)) throw new MpocertError('NO_CERTIFICATE', `no certificate ${opts.id}`, { database: path });
    const { checked, problems } = store.verify(opts.id);
    for (const p of problems) process.stdout.write(`certificate ${p.certificateId}: ${p.problem}: ${p.detail}\n`);
    process.stdout.write(`${checked} certificate(s) checked, ${problems.length === 0 ? 'all intact' : `${new Set(problems.map((p) => p.certificateId)).size} with problems`}\n`);
    return problems.length === 0 ? 0 : 1;
  } finally {
    db.close();
  }
}
