/**
 * Swapping an aggregator's View Data tables for rebuilt ones without downtime (`rebuild`, see cli/rebuild.ts):
 * new tables shaped as the live ones in a schema of their own, filled while the live ones serve, then moved in
 * place of them in one short transaction that first checks no migration changed the live ones meanwhile.
 */
import type { Database, Queryable } from 'message-db-toolkit';
import type { OwnedTable } from '../piece.js';

/** Makes the unqualified names of `schema`'s tables resolve to them for the rest of the transaction. */
export async function useNewTablesIn(tx: Queryable, schema: string) {
  // The aggregator's SQL names tables unqualified: these resolve to the new ones, the rest as View Data's path says.
  await tx.query(`SELECT set_config('search_path', $1 || ', ' || current_setting('search_path'), true)`, [schema]);
}

class ShapeChanged extends Error {
  override name = 'ShapeChanged';
}

/** Schemas of rebuilds of this aggregator that were killed (we hold its claim: none is running). */
export async function dropAbandonedSchemas(viewData: Database, slug: string) {
  const pattern = new RegExp(`^rebuild_${slug}_\\d{17}$`);
  const schemas = await viewData.query<{ name: string }>(
    `SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE 'rebuild\\_%'`,
  );
  for (const { name } of schemas) if (pattern.test(name)) await viewData.exec(`DROP SCHEMA ${name} CASCADE`);
}

/** A table the aggregator owns, and the schema its unqualified name resolves to (View Data's search path). */
export interface LiveTable extends OwnedTable {
  schema: string;
}

const qualified = (table: LiveTable) => `${quoteIdentifier(table.schema)}.${table.name}`;

/** Where the live tables are: `view_data`, where the migrations create them (found, not assumed). */
export async function findLiveTables(viewData: Database, tables: readonly OwnedTable[]): Promise<LiveTable[]> {
  const live: LiveTable[] = [];
  for (const table of tables) {
    const [row] = await viewData.query<{ schema: string }>(
      `SELECT n.nspname AS schema FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.oid = to_regclass($1) AND c.relkind = 'r'`,
      [table.name],
    );
    if (!row) throw new Error(`Table ${table.name} does not exist: are View Data's migrations applied?`);
    live.push({ ...table, schema: row.schema });
  }
  return live;
}

/** The new tables, empty but for seed rows, shaped as the live ones: columns, defaults, constraints, indexes, grants. */
export async function createNewTables(viewData: Database, schema: string, tables: readonly LiveTable[]) {
  await viewData.transaction(async (tx) => {
    await tx.exec(`CREATE SCHEMA ${schema}`);
    for (const table of tables) {
      await tx.exec(`CREATE TABLE ${schema}.${table.name} (LIKE ${qualified(table)} INCLUDING ALL)`);
      await renameIndexesAsLive(tx, table, schema);
      await copyGrants(tx, table, schema);
    }
    await useNewTablesIn(tx, schema);
    for (const { seed } of tables) if (seed) await tx.exec(seed);
  });
}

interface IndexRow {
  name: string;
  definition: string;
  [key: string]: unknown;
}

const indexesOf = (tx: Queryable, schema: string, table: string) =>
  tx.query<IndexRow>(
    `SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass
      ORDER BY c.relname`,
    [schema, table],
  );

/** An index definition without its name and table: `CREATE UNIQUE INDEX ON t USING btree (lower(email))`. */
const indexShape = (definition: string) =>
  definition.replace(/^CREATE (UNIQUE )?INDEX \S+ ON (ONLY )?\S+/, 'CREATE $1INDEX ON t');

/**
 * `LIKE … INCLUDING ALL` names indexes afresh (`user_credentials_lower_idx`);
 * give them the live ones' names (`user_credentials_email`), which later
 * migrations may refer to. Renaming a constraint's index renames the constraint.
 */
async function renameIndexesAsLive(tx: Queryable, table: LiveTable, schema: string) {
  const liveIndexes = await indexesOf(tx, table.schema, table.name);
  const newIndexes = await indexesOf(tx, schema, table.name);
  const unmatched = [...newIndexes];
  const renames: { from: string; to: string }[] = [];
  for (const liveIndex of liveIndexes) {
    const at = unmatched.findIndex((index) => indexShape(index.definition) === indexShape(liveIndex.definition));
    if (at < 0) throw new Error(`No copy of index ${liveIndex.name} on ${schema}.${table.name}`);
    const [match] = unmatched.splice(at, 1);
    if (match && match.name !== liveIndex.name) renames.push({ from: match.name, to: liveIndex.name });
  }
  // Through temporary names, so that no rename collides with a name about to be freed.
  for (const [n, { from }] of renames.entries())
    await tx.exec(`ALTER INDEX ${schema}.${quoteIdentifier(from)} RENAME TO rebuild_index_${n}`);
  for (const [n, { to }] of renames.entries())
    await tx.exec(`ALTER INDEX ${schema}.rebuild_index_${n} RENAME TO ${quoteIdentifier(to)}`);
}

/** Privileges granted on the live table to other roles (`LIKE` copies none); the owner is the one rebuilding. */
async function copyGrants(tx: Queryable, table: LiveTable, schema: string) {
  const grants = await tx.query<{ grantee: string | null; privilege: string; grantable: boolean }>(
    `SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END AS grantee,
            a.privilege_type AS privilege, a.is_grantable AS grantable
       FROM pg_class c, aclexplode(c.relacl) a
      WHERE c.oid = format('%I.%I', $1::text, $2::text)::regclass AND a.grantee <> c.relowner`,
    [table.schema, table.name],
  );
  for (const { grantee, privilege, grantable } of grants)
    await tx.exec(
      `GRANT ${privilege} ON ${schema}.${table.name} TO ${grantee === null ? 'PUBLIC' : quoteIdentifier(grantee)}` +
        (grantable ? ' WITH GRANT OPTION' : ''),
    );
}

/** Columns, constraints and indexes of a table, without its schema: equal when the new table can replace the live one. */
async function shapeOf(tx: Queryable, schema: string, table: string): Promise<string> {
  const columns = await tx.query<{ column: string }>(
    `SELECT format('%s %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                   CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                   coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')) AS column
       FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE a.attrelid = format('%I.%I', $1::text, $2::text)::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [schema, table],
  );
  const constraints = await tx.query<{ constraint: string }>(
    `SELECT conname || ' ' || pg_get_constraintdef(oid) AS constraint FROM pg_constraint
      WHERE conrelid = format('%I.%I', $1::text, $2::text)::regclass ORDER BY conname`,
    [schema, table],
  );
  const indexes = await indexesOf(tx, schema, table);
  return JSON.stringify([
    columns.map((row) => row.column),
    constraints.map((row) => row.constraint),
    indexes.map((row) => `${row.name}: ${indexShape(row.definition)}`),
  ]);
}

export async function assertSameShape(tx: Queryable, table: LiveTable, newSchema: string) {
  if ((await shapeOf(tx, table.schema, table.name)) !== (await shapeOf(tx, newSchema, table.name)))
    throw new ShapeChanged(
      `${table.schema}.${table.name} changed shape during the rebuild (a migration ran?): nothing was swapped; run the rebuild again`,
    );
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** From here readers of the live tables wait until the transaction ends: keep it short. */
export async function lockLiveTables(tx: Queryable, live: readonly LiveTable[]) {
  await tx.exec(`LOCK TABLE ${live.map(qualified).join(', ')} IN ACCESS EXCLUSIVE MODE`);
}

/** The live tables move out to `oldSchema`, the new ones from `newSchema` into the live tables' schema. */
export async function swapIn(tx: Queryable, live: readonly LiveTable[], newSchema: string, oldSchema: string) {
  await tx.exec(`CREATE SCHEMA ${oldSchema}`);
  for (const table of live) {
    await tx.exec(`ALTER TABLE ${qualified(table)} SET SCHEMA ${oldSchema}`);
    await tx.exec(`ALTER TABLE ${newSchema}.${table.name} SET SCHEMA ${quoteIdentifier(table.schema)}`);
  }
}

/** The replaced tables and their schema, once nothing needs them. */
export async function dropReplacedTables(viewData: Database, oldSchema: string, tables: readonly string[]) {
  await viewData.transaction(async (tx) => {
    for (const table of tables) await tx.exec(`DROP TABLE ${oldSchema}.${table}`);
    await tx.exec(`DROP SCHEMA ${oldSchema}`);
  });
}
