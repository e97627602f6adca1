import { openDatabase, type Db } from './database.js';

export interface SchemaRepair {
  /** What was found changed, for the custody record. */
  readonly found: string;
  /** Whether it could be put back. */
  readonly restored: boolean;
  readonly detail?: string;
}

let expectedCache: Map<string, { type: string; sql: string }> | undefined;

/** The triggers and indexes the migrations create, read from a fresh in-memory database. */
function expectedObjects(): Map<string, { type: string; sql: string }> {
  if (!expectedCache) {
    const fresh = openDatabase(':memory:');
    expectedCache = objectsOf(fresh);
    fresh.close();
  }
  return expectedCache;
}

function objectsOf(db: Db): Map<string, { type: string; sql: string }> {
  const rows = db.prepare("SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'index') AND sql IS NOT NULL").all() as { type: string; name: string; sql: string }[];
  return new Map(rows.map((r) => [r.name, { type: r.type, sql: r.sql }]));
}

export interface SchemaChange {
  readonly name: string;
  readonly type: string;
  readonly found: string;
  readonly want: string;
  readonly altered: boolean;
}

/** Triggers and indexes that differ from what the migrations create (read-only). */
export function schemaChanges(db: Db): SchemaChange[] {
  const actual = objectsOf(db);
  const changes: SchemaChange[] = [];
  for (const [name, want] of expectedObjects()) {
    const have = actual.get(name);
    if (have?.sql === want.sql) continue;
    changes.push({ name, type: want.type, want: want.sql, altered: have !== undefined, found: `the ${want.type} ${name} was ${have ? 'altered' : 'dropped'} outside mpocert` });
  }
  return changes;
}

/**
 * Someone with the database file can drop the append-only triggers (to edit certificates) or the
 * body indexes (which otherwise refuse a body that is not JSON). Neither forges anything the
 * signature check would miss, but both are evidence of editing outside mpocert: each is reported,
 * and put back when it can be (an index over a body that is no longer JSON cannot; the
 * certificates' own verification then names the row).
 */
export function restoreSchemaGuards(db: Db): SchemaRepair[] {
  return schemaChanges(db).map((c) => {
    try {
      db.transaction(() => {
        if (c.altered) db.exec(`DROP ${c.type.toUpperCase()} "${c.name}"`);
        db.exec(c.want);
      })();
      return { found: c.found, restored: true };
    } catch (err) {
      return { found: c.found, restored: false, detail: (err as Error).message };
    }
  });
}
