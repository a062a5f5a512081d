/**
 * The one query layer under the repositories. SQL is written once with `$1, $2…` placeholders in
 * the subset both SQLite (≥ 3.45) and PostgreSQL 15 accept (RETURNING, LIMIT/OFFSET, partial
 * indexes); timestamps are parameters made in JavaScript, never `now()`.
 */
export interface Db {
  readonly dialect: 'sqlite' | 'postgres';
  query<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  run(sql: string, params?: readonly unknown[]): Promise<{ changes: number }>;
  /** Runs `fn` in one transaction; inside it, `fn`'s Db must be used. Nested calls reuse it. */
  transaction<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function queryOne<T>(db: Db, sql: string, params?: readonly unknown[]): Promise<T | undefined> {
  const rows = await db.query<T>(sql, params);
  return rows[0];
}
