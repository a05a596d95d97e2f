import type { Knex } from 'knex';
import type { DateTime } from 'luxon';
import { storedResetPolicy, type ResetPolicy } from '../domain/reset-policy.js';
import { ModuleError } from '../domain/errors.js';
import { storedValueError, storedWord } from '../domain/stored-value.js';
import {
  column,
  intIn,
  intOrNullIn,
  sealedIn,
  sealedOrNullIn,
  sqlInstant,
  textIn,
  textOrNullIn,
  toBool,
  toNum,
} from './rows.js';
import type { TlsMode } from './solusvm-types.js';
import { TABLES } from './tables.js';

/**
 * The SolusVM masters as stored. Their keys, tokens and htpasswd come in and go out sealed (the
 * master service seals and opens them with the module's SecretBox): this store never sees them in
 * the clear, and a column it cannot read is named without repeating its value.
 */

type Db = Knex | Knex.Transaction;

/** What a master is stored with (the secrets sealed). */
export interface MasterFields {
  name: string;
  version: 1 | 2;
  baseUrl: string;
  /** the API id and key or the token, sealed as JSON */
  credentialsSealed: string;
  /** the htpasswd user and password, sealed as JSON; null: none */
  basicAuthSealed: string | null;
  tlsMode: TlsMode;
  tlsFingerprint: string | null;
  timeZone: string;
  resetPolicy: ResetPolicy;
  anniversaryFrom: 'solusvm' | 'panel';
  apiUserType: 'admin' | 'reseller';
  unitLabels: 'binary' | 'decimal';
  concurrency: number;
  timeoutMs: number;
  retries: number;
  active: boolean;
  panelServerId: number | null;
}

export interface StoredMaster extends MasterFields {
  id: number;
}

/** What linking a service needs of its master. */
export interface MasterLinkRule {
  resetPolicy: ResetPolicy;
  version: 1 | 2;
}

/**
 * A stored master whose row cannot be read (a column changed by hand or by another version): which
 * one, and the refusal naming the column ("T.c holds V, which is not …"). The others are listed
 * without it; whoever lists them says so (the masters page, the CLI, a collect run).
 */
export interface UnreadableMaster {
  id: number;
  /** the name, when that column at least reads */
  name: string | null;
  active: boolean;
  /** the column refused, `table.column` */
  column: string | null;
  problem: string;
}

/** Every master: the ones that read, and the ones that do not, each by id ascending. */
export interface MasterListing<M = StoredMaster> {
  masters: M[];
  unreadable: UnreadableMaster[];
}

export interface MasterStore {
  get(db: Db, id: number): Promise<StoredMaster | null>;
  byName(db: Db, name: string): Promise<StoredMaster | null>;
  /** every master, by id ascending; a row that cannot be read is named apart, never fails the others */
  list(): Promise<MasterListing>;
  /** a new master (names are unique: a second one of the same name is refused by the table) */
  insert(db: Db, m: MasterFields, now: DateTime): Promise<StoredMaster>;
  update(db: Db, id: number, m: MasterFields, now: DateTime): Promise<StoredMaster>;
  remove(db: Db, id: number): Promise<void>;
  /** how many services are linked to the master */
  linkedServices(id: number): Promise<number>;
  /** the reset policy and version of each master (or of the one given), by id */
  linkRules(db: Db, onlyId?: number): Promise<Map<number, MasterLinkRule>>;
}

const T = TABLES.masters;
const TLS_MODES = ['verify', 'pinned', 'insecure'] as const satisfies readonly TlsMode[];
const word =
  <const W extends string>(allowed: readonly W[], name: string) =>
  (v: unknown): W =>
    storedWord(allowed, v, `${T}.${name}`);

function toVersion(v: unknown, c: string): 1 | 2 {
  const n = intIn(v, c);
  if (n !== 1 && n !== 2) throw storedValueError(c, v, 'a SolusVM version (1 or 2)');
  return n;
}

const linkRuleFromRow = (r: Record<string, unknown>): MasterLinkRule => ({
  resetPolicy: column(r, T, 'reset_policy', storedResetPolicy),
  version: column(r, T, 'version', toVersion),
});

export function masterFromRow(r: Record<string, unknown>): StoredMaster {
  return {
    id: column(r, T, 'id', intIn),
    name: column(r, T, 'name', textIn),
    baseUrl: column(r, T, 'base_url', textIn),
    credentialsSealed: column(r, T, 'credentials_enc', sealedIn),
    basicAuthSealed: column(r, T, 'basic_auth_enc', sealedOrNullIn),
    tlsMode: word(TLS_MODES, 'tls_mode')(r.tls_mode),
    tlsFingerprint: column(r, T, 'tls_fingerprint', textOrNullIn),
    timeZone: column(r, T, 'time_zone', textIn),
    ...linkRuleFromRow(r),
    anniversaryFrom: word(['solusvm', 'panel'], 'anniversary_from')(r.anniversary_from),
    apiUserType: word(['admin', 'reseller'], 'api_user_type')(r.api_user_type),
    unitLabels: word(['binary', 'decimal'], 'unit_labels')(r.unit_labels),
    concurrency: column(r, T, 'concurrency', intIn),
    timeoutMs: column(r, T, 'timeout_ms', intIn),
    retries: column(r, T, 'retries', intIn),
    active: toBool(r.active),
    panelServerId: column(r, T, 'panel_server_id', intOrNullIn),
  };
}

const toColumns = (m: MasterFields) => ({
  name: m.name,
  version: m.version,
  base_url: m.baseUrl,
  credentials_enc: m.credentialsSealed,
  basic_auth_enc: m.basicAuthSealed,
  tls_mode: m.tlsMode,
  tls_fingerprint: m.tlsFingerprint,
  time_zone: m.timeZone,
  reset_policy: m.resetPolicy,
  anniversary_from: m.anniversaryFrom,
  api_user_type: m.apiUserType,
  unit_labels: m.unitLabels,
  concurrency: m.concurrency,
  timeout_ms: m.timeoutMs,
  retries: m.retries,
  active: m.active,
  panel_server_id: m.panelServerId,
});

/** A row `masterFromRow` refused: its id (the key always reads), its name if it does, and why. */
function unreadableMaster(r: Record<string, unknown>, err: unknown): UnreadableMaster {
  if (!(err instanceof ModuleError) || err.code !== 'UNEXPECTED_STATE') throw err;
  const name = r.name;
  return {
    id: toNum(r.id),
    name: typeof name === 'string' && name !== '' ? name : null,
    active: toBool(r.active),
    column: typeof err.details?.column === 'string' ? err.details.column : null,
    problem: err.message,
  };
}

/** Each row read on its own: one that cannot be read is set apart with its reason. */
function listing(rows: Array<Record<string, unknown>>): MasterListing {
  const out: MasterListing = { masters: [], unreadable: [] };
  for (const r of rows) {
    try {
      out.masters.push(masterFromRow(r));
    } catch (err) {
      out.unreadable.push(unreadableMaster(r, err));
    }
  }
  return out;
}

export function createMasterStore(knex: Knex): MasterStore {
  const one = async (db: Db, where: Record<string, unknown>) => {
    const r = await db(T).where(where).first();
    return r ? masterFromRow(r) : null;
  };
  return {
    get: (db, id) => one(db, { id }),
    byName: (db, name) => one(db, { name }),
    async list() {
      return listing(await knex(T).orderBy('id'));
    },
    async insert(db, m, now) {
      await db(T).insert({ ...toColumns(m), created_at: sqlInstant(now), updated_at: sqlInstant(now) });
      return (await one(db, { name: m.name }))!;
    },
    async update(db, id, m, now) {
      await db(T)
        .where({ id })
        .update({ ...toColumns(m), updated_at: sqlInstant(now) });
      return (await one(db, { id }))!;
    },
    async remove(db, id) {
      await db(T).where({ id }).delete();
    },
    async linkedServices(id) {
      const r = await knex(TABLES.services).where({ master_id: id }).count({ n: '*' }).first();
      return toNum(r?.n ?? 0);
    },
    async linkRules(db, onlyId) {
      const q = db(T).select('id', 'reset_policy', 'version');
      if (onlyId !== undefined) q.where({ id: onlyId });
      const rows = await q;
      return new Map(rows.map((r) => [column(r, T, 'id', intIn), linkRuleFromRow(r)]));
    },
  };
}
