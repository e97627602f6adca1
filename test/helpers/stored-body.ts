import type Database from 'better-sqlite3';
import { compressBody, decompressBody } from '../../src/store/compact-body.js';

/**
 * Bodies are stored compressed (src/store/compact-body.ts), so a test that tampers with one the
 * way an attacker with the file would (decompress, edit, compress again: the edit is then exactly
 * as effective as on JSON text) registers these on its plain better-sqlite3 connection:
 *
 *   body_replace(body, from, to)   the stored body with every `from` replaced by `to` (SQL replace())
 *   body_text(body)                the stored body's canonical JSON
 *   compress_body(text)            text in the stored form (anything, JSON or not)
 *
 * mpocert itself registers no SQL function: every other connection (QA's sqlite3, `mpocert verify`)
 * reads the database without them.
 */
export function withBodyCodec<T extends Database.Database>(db: T): T {
  db.function('body_replace', { deterministic: true }, (stored: unknown, from: unknown, to: unknown) =>
    compressBody(decompressBody(stored as Buffer).replaceAll(String(from), String(to))),
  );
  db.function('body_text', { deterministic: true }, (stored: unknown) => decompressBody(stored as Buffer));
  db.function('compress_body', { deterministic: true }, (text: unknown) => compressBody(String(text)));
  return db;
}
