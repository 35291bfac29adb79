import { randomBytes } from 'node:crypto';
import type { Namespace } from '../runtime/namespace.js';

/**
 * PostgreSQL roles (issue 9 item 6): a migration owner that owns tickwork's schema and runs
 * `tickwork migrate` (tables, partitions, retention drops), and a runtime role for sink, spread
 * and api that reads and writes rows but cannot CREATE, ALTER, DROP or TRUNCATE anything.
 * Run the SQL once per database and namespace as a superuser or a role with CREATEROLE.
 */
export interface PgRoleNames {
  owner: string;
  runtime: string;
}

/** `tickwork_owner` / `tickwork_app`, prefixed `<ns>_` in a namespace. */
export function pgRoleNames(ns: Namespace): PgRoleNames {
  const p = ns.id ? `${ns.id}_` : '';
  return { owner: `${p}tickwork_owner`, runtime: `${p}tickwork_app` };
}

export interface PgRolesOptions {
  /** Database the roles may connect to (default `postgres`). */
  database?: string;
  /** Passwords (random when absent); `null` makes the role NOLOGIN. */
  ownerPassword?: string | null;
  runtimePassword?: string | null;
}

const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

export const generatePgPassword = (): string => randomBytes(24).toString('base64url');

/**
 * Idempotent SQL: roles created if missing (passwords set every run), the namespace's schema
 * created and given to the owner, the runtime role granted row access to whatever the owner
 * creates there now and later (default privileges), and nothing else.
 */
export function pgRolesSql(ns: Namespace, opts: PgRolesOptions = {}): string {
  const { owner, runtime } = pgRoleNames(ns);
  const schema = ns.pgSchema;
  const db = opts.database ?? 'postgres';
  const login = (pw: string | null | undefined) => (pw === null ? 'NOLOGIN' : `LOGIN PASSWORD ${literal(pw ?? generatePgPassword())}`);
  const role = (name: string, pw: string | null | undefined) => `
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${literal(name)}) THEN
    CREATE ROLE ${ident(name)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
  END IF;
END $$;
ALTER ROLE ${ident(name)} ${login(pw)};`;
  const S = ident(schema);
  const O = ident(owner);
  const R = ident(runtime);
  return `-- tickwork PostgreSQL roles, namespace ${JSON.stringify(ns.id)}, schema ${schema} (app/pg-roles.ts)
BEGIN;
${role(owner, opts.ownerPassword)}
${role(runtime, opts.runtimePassword)}
GRANT CONNECT ON DATABASE ${ident(db)} TO ${O}, ${R};
-- migrate runs CREATE SCHEMA IF NOT EXISTS, which needs CREATE on the database even when it exists.
GRANT CREATE ON DATABASE ${ident(db)} TO ${O};
-- The owner creates its schema's content; nobody else creates anything in it.
CREATE SCHEMA IF NOT EXISTS ${S} AUTHORIZATION ${O};
ALTER SCHEMA ${S} OWNER TO ${O};
REVOKE ALL ON SCHEMA ${S} FROM PUBLIC;
GRANT USAGE ON SCHEMA ${S} TO ${R};
-- Rows only: SELECT, INSERT, UPDATE (upserts); no DELETE/TRUNCATE (retention is the owner's).
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA ${S} TO ${R};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA ${S} TO ${R};
ALTER DEFAULT PRIVILEGES FOR ROLE ${O} IN SCHEMA ${S} GRANT SELECT, INSERT, UPDATE ON TABLES TO ${R};
ALTER DEFAULT PRIVILEGES FOR ROLE ${O} IN SCHEMA ${S} GRANT USAGE, SELECT ON SEQUENCES TO ${R};
COMMIT;
`;
}
