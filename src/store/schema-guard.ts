import Database from 'better-sqlite3';
import { MIGRATIONS, type Db } from './database.js';

export interface SchemaRepair {
  /** What was found changed, for the custody record. */
  readonly found: string;
  /** Whether it could be put back. */
  readonly restored: boolean;
  readonly detail?: string;
}

export interface SchemaChange {
  readonly name: string;
  readonly type: string;
  readonly found: string;
  /** The migrations' SQL for it; undefined for an object no migration creates. */
  readonly want: string | undefined;
  readonly kind: 'dropped' | 'altered' | 'added';
}

type Objects = Map<string, { type: string; sql: string }>;
const expectedByVersion = new Map<number, Objects>();

/**
 * Tables, triggers and indexes the migrations up to `version` create, read from a fresh
 * in-memory database: a database an older mpocert wrote (a QA copy) is compared with its own.
 */
function expectedObjects(version: number): Objects {
  let objects = expectedByVersion.get(version);
  if (!objects) {
    const fresh = new Database(':memory:');
    for (const sql of MIGRATIONS.slice(0, version)) fresh.exec(sql);
    objects = objectsOf(fresh);
    fresh.close();
    expectedByVersion.set(version, objects);
  }
  return objects;
}

function objectsOf(db: Db): Objects {
  const rows = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE type IN ('table', 'trigger', 'index', 'view') AND sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'").all() as { type: string; name: string; sql: string }[];
  return new Map(rows.map((r) => [r.name, { type: r.type, sql: r.sql }]));
}

/** Schema objects that differ from what the migrations create (read-only). */
export function schemaChanges(db: Db): SchemaChange[] {
  const actual = objectsOf(db);
  const expected = expectedObjects(db.pragma('user_version', { simple: true }) as number);
  const changes: SchemaChange[] = [];
  for (const [name, want] of expected) {
    const have = actual.get(name);
    if (have?.sql === want.sql) continue;
    changes.push({ name, type: want.type, want: want.sql, kind: have ? 'altered' : 'dropped', found: `the ${want.type} ${name} was ${have ? 'altered' : 'dropped'} outside mpocert` });
  }
  for (const [name, have] of actual) {
    if (expected.has(name)) continue;
    // A trigger nobody shipped could acknowledge problems, swallow FAIL certificates or rewrite rows.
    changes.push({ name, type: have.type, want: undefined, kind: 'added', found: `a ${have.type} ${name} that mpocert does not create was added outside mpocert` });
  }
  return changes;
}

/**
 * Someone with the database file can drop the append-only triggers (to edit certificates), drop
 * the body indexes, or add triggers of their own. Neither forges anything the signature check
 * would miss, but each is evidence of editing outside mpocert: each is reported, and put back
 * when it can be (an added trigger or index is dropped; a rebuilt table cannot be put back).
 */
export function restoreSchemaGuards(db: Db): SchemaRepair[] {
  return schemaChanges(db).map((c) => {
    if (c.type === 'table' || c.type === 'view') {
      if (c.kind === 'added' && c.type === 'view') return tryRepair(db, c, () => db.exec(`DROP VIEW "${c.name.replace(/"/g, '""')}"`));
      return { found: c.found, restored: false, detail: 'a table is not rebuilt automatically; restore the database from a backup' };
    }
    return tryRepair(db, c, () => {
      if (c.kind !== 'dropped') db.exec(`DROP ${c.type.toUpperCase()} "${c.name.replace(/"/g, '""')}"`);
      if (c.want !== undefined) db.exec(c.want);
    });
  });
}

function tryRepair(db: Db, c: SchemaChange, repair: () => void): SchemaRepair {
  try {
    db.transaction(repair)();
    return { found: c.found, restored: true };
  } catch (err) {
    return { found: c.found, restored: false, detail: (err as Error).message };
  }
}
