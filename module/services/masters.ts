import { retryTransaction } from '../adapters/sql-helpers.js';
import type { Knex } from 'knex';
import { z } from 'zod';
import type { Clock } from '../domain/clock.js';
import { assertZone } from '../domain/calendar.js';
import { invalidInput, ModuleError, notFound } from '../domain/errors.js';
import { parseResetPolicy, type ResetPolicy } from '../domain/reset-policy.js';
import type { SecretBox } from '../adapters/secret-box.js';
import type { Actor, AuditLog } from '../adapters/audit-store.js';
import {
  createMasterStore,
  type MasterFields,
  type MasterListing,
  type MasterStore,
  type StoredMaster,
} from '../adapters/master-store.js';
import type {
  ConnectionReport,
  MasterSettings,
  ServerSummary,
  SolusVmGateway,
  TlsMode,
} from '../adapters/solusvm-types.js';

/** A master as shown to admins and scripts: never the secrets. */
export interface MasterView {
  id: number;
  name: string;
  version: 1 | 2;
  baseUrl: string;
  tlsMode: TlsMode;
  tlsFingerprint: string | null;
  timeZone: string;
  resetPolicy: ResetPolicy;
  /** where an anniversary day comes from when a service does not say: SolusVM's creation day (SolusVM 2) or the panel's registration day */
  anniversaryFrom: 'solusvm' | 'panel';
  concurrency: number;
  timeoutMs: number;
  retries: number;
  active: boolean;
  hasBasicAuth: boolean;
  /** the panel's server entry (tblhosting.server) whose services run on this master */
  panelServerId: number | null;
  /** SolusVM 1: admin or reseller API user */
  apiUserType: 'admin' | 'reseller';
  /** SolusVM 2: how KB/MB/GB/TB labels are read (binary = 1024-based) */
  unitLabels: 'binary' | 'decimal';
}

const FINGERPRINT = /^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/;

const masterInput = z
  .object({
    name: z.string().trim().min(1).max(100),
    version: z.union([z.literal(1), z.literal(2)]),
    baseUrl: z
      .string()
      .trim()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://'),
    apiId: z.string().min(1).optional(),
    apiKey: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    tlsMode: z.enum(['verify', 'pinned', 'insecure']).default('verify'),
    tlsFingerprint: z
      .string()
      .regex(FINGERPRINT, 'must be a SHA-256 fingerprint (64 hex digits, colons allowed)')
      .nullish(),
    basicAuthUser: z.string().min(1).nullish(),
    basicAuthPassword: z.string().nullish(),
    timeZone: z.string().min(1).default('UTC'),
    resetPolicy: z.string().default('first_of_month'),
    anniversaryFrom: z.enum(['solusvm', 'panel']).default('solusvm'),
    apiUserType: z.enum(['admin', 'reseller']).default('admin'),
    unitLabels: z.enum(['binary', 'decimal']).default('binary'),
    concurrency: z.number().int().min(1).max(64).default(8),
    timeoutMs: z.number().int().min(1000).max(600000).default(60000),
    retries: z.number().int().min(0).max(10).default(2),
    active: z.boolean().default(true),
    panelServerId: z.number().int().positive().nullish(),
  })
  .strict();

export type MasterInput = z.input<typeof masterInput>;

/**
 * A master's URL as the clients use it, with what was changed in words. SolusVM 1 takes the
 * origin (the client adds /api/admin/command.php or /api/reseller/command.php, as the official
 * module builds it); SolusVM 2 takes the API root …/api/v1 (as the official module's Connector).
 * Credentials in the URL would be stored unsealed and shown wherever the URL is: refused.
 */
export function normaliseMasterUrl(version: 1 | 2, raw: string): { url: string; notes: string[] } {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw invalidInput(
      `"${raw}" is not a URL; give the master's address, like ${version === 1 ? 'https://master.example.net:5656' : 'https://solus.example.net/api/v1'}`,
    );
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw invalidInput(`the master URL must start with https:// (or http://), not ${u.protocol}//`);
  if (u.username || u.password) {
    throw invalidInput(
      'do not put a user and password in the master URL (they would be stored unsealed and shown wherever the URL is): give the htpasswd user and password with --basic-auth-user and --basic-auth-password (stored sealed, never shown)',
    );
  }
  if (u.search || u.hash)
    throw invalidInput(`the master URL takes no query or fragment; drop "${u.search}${u.hash}"`);
  const notes: string[] = [];
  let path = u.pathname.replace(/\/+$/, '');
  if (version === 1) {
    const m = /^(.*)\/api\/(admin|reseller)\/command\.php$/i.exec(path);
    if (m) {
      notes.push(`the URL's ${path.slice(m[1]!.length)} was dropped: the client adds the API path itself`);
      path = m[1]!;
    }
    if (path !== '')
      throw invalidInput(
        `a SolusVM 1 master URL is the master's origin, like https://${u.host}; its path "${path}" is not one SolusVM 1 serves the API under`,
      );
  } else {
    const at = path.toLowerCase().indexOf('/api/v1');
    if (path === '') {
      path = '/api/v1';
      notes.push('/api/v1 was added: SolusVM 2 serves its API there');
    } else if (at >= 0 && path.length > at + '/api/v1'.length) {
      notes.push(`the URL's ${path.slice(at + '/api/v1'.length)} was dropped: the API root is …/api/v1`);
      path = path.slice(0, at + '/api/v1'.length);
    } else if (at < 0) {
      throw invalidInput(
        `a SolusVM 2 master URL is its API root, ending in /api/v1 (like https://${u.host}/api/v1); "${u.pathname}" is not`,
      );
    }
  }
  return { url: `${u.protocol}//${u.host}${path}`, notes };
}

function validate(input: unknown): z.output<typeof masterInput> & { notes: string[] } {
  const parsed = masterInput.safeParse(input);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    throw invalidInput(`${first.path.join('.') || 'master'}: ${first.message}`, {
      issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    });
  }
  const m = parsed.data;
  assertZone(m.timeZone);
  parseResetPolicy(m.resetPolicy);
  if (m.version === 1 && (!m.apiId || !m.apiKey))
    throw invalidInput('a SolusVM 1 master needs apiId and apiKey (Configuration > API Access)');
  if (m.version === 2 && !m.token)
    throw invalidInput('a SolusVM 2 master needs an API token (Access > API Tokens)');
  if (m.tlsMode === 'pinned' && !m.tlsFingerprint)
    throw invalidInput('tlsMode "pinned" needs tlsFingerprint (the connection test shows it)');
  if (m.version === 2 && m.apiUserType === 'reseller')
    throw invalidInput("the Reseller API user type is SolusVM 1's; a SolusVM 2 master takes an API token");
  const { url, notes } = normaliseMasterUrl(m.version, m.baseUrl);
  if ((input as { timeZone?: unknown }).timeZone === undefined) {
    notes.push(
      `no time zone was given: SolusVM resets counters at midnight on the master's own clock, so the reset is assumed at midnight UTC; set the master's zone (overusage master update <id> --master-zone Europe/Brussels)`,
    );
  }
  return { ...m, baseUrl: url, notes };
}

export interface MasterService {
  /** the master, with notes on what was assumed or changed (a URL completed, a zone assumed) */
  add(input: MasterInput, actor: Actor): Promise<MasterView & { notes: string[] }>;
  update(id: number, patch: Partial<MasterInput>, actor: Actor): Promise<MasterView & { notes: string[] }>;
  /** the masters whose stored rows read (a row that does not is in `listAll`, never fails the rest) */
  list(): Promise<MasterView[]>;
  /** every master: the ones that read, and the ones whose row cannot be read, with the column and why */
  listAll(): Promise<MasterListing<MasterView>>;
  get(id: number): Promise<MasterView>;
  /** with secrets opened: for the gateway only */
  settings(id: number): Promise<MasterSettings>;
  test(idOrInput: number | MasterInput): Promise<ConnectionReport>;
  /** whether the master has the server: yes, no, or it could not be asked (with why) */
  checkServer(id: number, serverRef: string): Promise<{ exists: boolean } | { unknown: string }>;
  /** every server the master lists (hostname, main IP …), for linking by name or address */
  servers(id: number): Promise<ServerSummary[]>;
  remove(id: number, actor: Actor): Promise<void>;
}

type MasterDeps = {
  knex: Knex;
  store?: MasterStore;
  secrets: SecretBox;
  clock: Clock;
  audit: AuditLog;
  gatewayFor: (settings: MasterSettings) => SolusVmGateway;
};

/** A stored master; not found when there is none. */
async function masterRow(store: MasterStore, db: Knex, id: number): Promise<StoredMaster> {
  const r = await store.get(db, id);
  if (!r) throw notFound(`SolusVM master ${id} does not exist`);
  return r;
}

/** A new master, its keys sealed; audited without them. */
async function addMaster(
  deps: MasterDeps & { store: MasterStore },
  input: MasterInput,
  actor: Actor,
): Promise<MasterView & { notes: string[] }> {
  const { knex, store, secrets, clock, audit } = deps;
  const m = validate(input);
  const now = clock.now();
  return retryTransaction(knex, async (trx) => {
    const exists = await store.byName(trx, m.name);
    if (exists) throw new ModuleError('CONFLICT', `a master named "${m.name}" already exists`);
    const created = await store.insert(trx, fieldsOf(m, secrets), now);
    await audit.record(
      trx,
      {
        actor,
        action: 'master.added',
        entityType: 'master',
        entityId: created.id,
        details: auditable(input),
      },
      now,
    );
    return { ...view(created), notes: m.notes };
  });
}

/** A master's settings changed (what is not given stays); audited without the keys. */
async function updateMaster(
  deps: MasterDeps & { store: MasterStore },
  id: number,
  patch: Partial<MasterInput>,
  actor: Actor,
): Promise<MasterView & { notes: string[] }> {
  const { knex, store, secrets, clock, audit } = deps;
  const current = await masterRow(store, knex, id);
  const m = validate({ ...inputOf(settingsOf(current, secrets), view(current)), ...patch });
  const now = clock.now();
  return retryTransaction(knex, async (trx) => {
    const updated = await store.update(trx, id, fieldsOf(m, secrets), now);
    await audit.record(
      trx,
      { actor, action: 'master.updated', entityType: 'master', entityId: id, details: auditable(patch) },
      now,
    );
    return { ...view(updated), notes: m.notes };
  });
}

/** A master with no linked services removed; audited. */
async function removeMaster(
  deps: MasterDeps & { store: MasterStore },
  id: number,
  actor: Actor,
): Promise<void> {
  const { knex, store, clock, audit } = deps;
  await masterRow(store, knex, id);
  if ((await store.linkedServices(id)) > 0) {
    throw new ModuleError(
      'CONFLICT',
      `master ${id} still has linked services; deactivate it instead, or unlink them first`,
    );
  }
  const now = clock.now();
  await retryTransaction(knex, async (trx) => {
    await store.remove(trx, id);
    await audit.record(trx, { actor, action: 'master.removed', entityType: 'master', entityId: id }, now);
  });
}

export function createMasterService(given: MasterDeps): MasterService {
  const deps = { ...given, store: given.store ?? createMasterStore(given.knex) };
  const { knex, store, secrets } = deps;
  const row = (id: number) => masterRow(store, knex, id);
  /** a gateway to the master for one job, closed after it */
  async function withGateway<T>(
    settings: MasterSettings,
    job: (g: SolusVmGateway) => Promise<T>,
  ): Promise<T> {
    const gateway = deps.gatewayFor(settings);
    try {
      return await job(gateway);
    } finally {
      gateway.close();
    }
  }

  return {
    add: (input, actor) => addMaster(deps, input, actor),
    update: (id, patch, actor) => updateMaster(deps, id, patch, actor),
    list: async () => (await store.list()).masters.map(view),
    async listAll() {
      const all = await store.list();
      return { masters: all.masters.map(view), unreadable: all.unreadable };
    },
    get: async (id) => view(await row(id)),
    settings: async (id) => settingsOf(await row(id), secrets),
    async test(idOrInput) {
      const settings =
        typeof idOrInput === 'number'
          ? settingsOf(await row(idOrInput), secrets)
          : settingsFromInput(validate(idOrInput));
      return withGateway(settings, (g) => g.testConnection());
    },
    async checkServer(id, serverRef) {
      return withGateway(settingsOf(await row(id), secrets), async (g) => {
        try {
          return { exists: await g.serverExists(serverRef) };
        } catch (e) {
          return { unknown: (e as Error).message };
        }
      });
    },
    async servers(id) {
      return withGateway(settingsOf(await row(id), secrets), async (g) => {
        const out: ServerSummary[] = [];
        for await (const s of g.listServers()) out.push(s);
        return out;
      });
    },
    remove: (id, actor) => removeMaster(deps, id, actor),
  };
}

/** A stored master as shown: without its sealed secrets, saying only whether it has an htpasswd. */
function view(m: StoredMaster): MasterView {
  return {
    id: m.id,
    name: m.name,
    version: m.version,
    baseUrl: m.baseUrl,
    tlsMode: m.tlsMode,
    tlsFingerprint: m.tlsFingerprint,
    timeZone: m.timeZone,
    resetPolicy: m.resetPolicy,
    anniversaryFrom: m.anniversaryFrom,
    concurrency: m.concurrency,
    timeoutMs: m.timeoutMs,
    retries: m.retries,
    active: m.active,
    hasBasicAuth: m.basicAuthSealed !== null,
    panelServerId: m.panelServerId,
    apiUserType: m.apiUserType,
    unitLabels: m.unitLabels,
  };
}

/** A master's fields as stored, its keys, token and htpasswd sealed. */
const fieldsOf = (m: z.output<typeof masterInput>, secrets: SecretBox): MasterFields => ({
  name: m.name,
  version: m.version,
  baseUrl: m.baseUrl.replace(/\/+$/, ''),
  credentialsSealed: secrets.seal(
    JSON.stringify(
      m.version === 1 ? { kind: 'v1', apiId: m.apiId, apiKey: m.apiKey } : { kind: 'v2', token: m.token },
    ),
  ),
  basicAuthSealed: m.basicAuthUser
    ? secrets.seal(JSON.stringify({ user: m.basicAuthUser, password: m.basicAuthPassword ?? '' }))
    : null,
  tlsMode: m.tlsMode,
  tlsFingerprint: m.tlsFingerprint ? normaliseFingerprint(m.tlsFingerprint) : null,
  timeZone: m.timeZone,
  resetPolicy: parseResetPolicy(m.resetPolicy),
  anniversaryFrom: m.anniversaryFrom,
  apiUserType: m.apiUserType,
  unitLabels: m.unitLabels,
  concurrency: m.concurrency,
  timeoutMs: m.timeoutMs,
  retries: m.retries,
  active: m.active,
  panelServerId: m.panelServerId ?? null,
});

const settingsOf = (r: StoredMaster, secrets: SecretBox): MasterSettings => {
  const v = view(r);
  const creds = JSON.parse(secrets.open(r.credentialsSealed));
  const basic = r.basicAuthSealed ? JSON.parse(secrets.open(r.basicAuthSealed)) : null;
  return {
    id: v.id,
    name: v.name,
    version: v.version,
    baseUrl: v.baseUrl,
    credentials: creds,
    basicAuth: basic,
    tls: { mode: v.tlsMode, fingerprint256: v.tlsFingerprint },
    timeoutMs: v.timeoutMs,
    concurrency: v.concurrency,
    retries: v.retries,
    zone: v.timeZone,
    resetPolicy: v.resetPolicy,
    anniversaryFrom: v.anniversaryFrom,
    apiUserType: v.apiUserType,
    unitLabels: v.unitLabels,
  };
};

/** A stored master as the input it was made from: what an update patches. */
function inputOf(current: MasterSettings, v: MasterView): MasterInput {
  return {
    name: current.name,
    version: current.version,
    baseUrl: current.baseUrl,
    ...(current.credentials.kind === 'v1'
      ? { apiId: current.credentials.apiId, apiKey: current.credentials.apiKey }
      : { token: current.credentials.token }),
    tlsMode: current.tls.mode,
    tlsFingerprint: current.tls.fingerprint256 ?? null,
    basicAuthUser: current.basicAuth?.user ?? null,
    basicAuthPassword: current.basicAuth?.password ?? null,
    timeZone: current.zone,
    resetPolicy: current.resetPolicy,
    anniversaryFrom: v.anniversaryFrom,
    apiUserType: v.apiUserType,
    unitLabels: v.unitLabels,
    concurrency: current.concurrency,
    timeoutMs: current.timeoutMs,
    retries: current.retries,
    active: v.active,
    panelServerId: v.panelServerId,
  };
}

/** The settings a connection test of a master not yet saved uses (no retries: a test says what it saw). */
function settingsFromInput(m: ReturnType<typeof validate>): MasterSettings {
  return {
    id: 0,
    name: m.name,
    version: m.version,
    baseUrl: m.baseUrl.replace(/\/+$/, ''),
    credentials:
      m.version === 1 ? { kind: 'v1', apiId: m.apiId!, apiKey: m.apiKey! } : { kind: 'v2', token: m.token! },
    basicAuth: m.basicAuthUser ? { user: m.basicAuthUser, password: m.basicAuthPassword ?? '' } : null,
    tls: {
      mode: m.tlsMode,
      fingerprint256: m.tlsFingerprint ? normaliseFingerprint(m.tlsFingerprint) : null,
    },
    timeoutMs: m.timeoutMs,
    concurrency: m.concurrency,
    retries: 0,
    zone: m.timeZone,
    resetPolicy: parseResetPolicy(m.resetPolicy),
    apiUserType: m.apiUserType,
    unitLabels: m.unitLabels,
  };
}

// Secrets never reach the audit log: only which fields changed.
const auditable = (input: Partial<MasterInput>) =>
  Object.fromEntries(
    Object.entries(input).map(([k, v]) => [k, /key|token|password/i.test(k) ? '[sealed]' : v]),
  );

export function normaliseFingerprint(fp: string): string {
  const hex = fp.replace(/:/g, '').toUpperCase();
  return hex.match(/.{2}/g)!.join(':');
}
