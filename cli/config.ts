import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { ModuleError } from '../module/domain/errors.js';
import { assertZone } from '../module/domain/calendar.js';
import { parseSecretKey } from '../module/adapters/secret-box.js';
import { parseTrustProxy, type TrustProxy } from '../module/web/client-address.js';

/**
 * Configuration comes from the environment (documented in the README). Every setting has an
 * embedded default so `npm start` runs on a fresh machine with nothing set.
 */
export interface AppConfig {
  databaseUrl: string;
  /** where databaseUrl came from: `demo` is the demo's database, chosen by --demo or because it is the only one in the data directory */
  databaseSource: 'option' | 'env' | 'default' | 'demo';
  secretKey: Buffer;
  /** where the key came from, for `overusage config` (never the key itself) */
  secretKeySource: string;
  zone: string;
  listen: { host: string; port: number };
  dataDir: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** SQLite only: metering writes in a thread of their own (default) or on the main thread */
  meteringWriter: 'thread' | 'inline';
  /** the WHMCS bridge (modules/addons/overusage): `serve` mounts /bridge/v1 when set */
  bridge?: BridgeConfig;
  /** WHMCS's External API; without it, and with the bridge set, panel calls are relayed through the bridge */
  whmcsApi?: WhmcsApiConfig;
  /** OVERUSAGE_TRUST_PROXY: the proxies in front, a hop count or addresses (default: loopback) */
  trustProxy: TrustProxy;
}

export interface BridgeConfig {
  /** the shared secret also set in WHMCS (Setup > Addon Modules > Overusage > Configure) */
  secret: string;
  /** where it came from, for messages (never the secret itself) */
  secretSource: string;
}

export interface WhmcsApiConfig {
  url: string;
  identifier: string;
  secret: string;
  accessKey?: string;
}

export const DEFAULT_DATA_DIR = 'data';

/** The database of `npm start` (`serve --demo`) and `panel cron --demo`, unless OVERUSAGE_DB says otherwise. */
export const demoDatabaseUrl = (dataDir: string): string => `sqlite:${path.join(dataDir, 'demo.sqlite')}`;

/**
 * The database: --db, then OVERUSAGE_DB; with neither, the demo's when asked (`--demo`) or when the
 * data directory holds the demo's database and no other (a checkout where `npm start` ran: the CLI
 * then sees what the demo's pages show), else `data/overusage.sqlite`.
 */
function chooseDatabase(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  overrides: { databaseUrl?: string; demo?: boolean },
): { url: string; source: AppConfig['databaseSource'] } {
  if (overrides.databaseUrl) return { url: overrides.databaseUrl, source: 'option' };
  if (env.OVERUSAGE_DB) return { url: env.OVERUSAGE_DB, source: 'env' };
  if (overrides.demo) return { url: demoDatabaseUrl(dataDir), source: 'demo' };
  const own = path.join(dataDir, 'overusage.sqlite');
  if (!fs.existsSync(own) && fs.existsSync(path.join(dataDir, 'demo.sqlite')))
    return { url: demoDatabaseUrl(dataDir), source: 'demo' };
  return { url: `sqlite:${own}`, source: 'default' };
}

export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Partial<{ databaseUrl: string; zone: string; listen: string; demo: boolean }> = {},
): AppConfig {
  const dataDir = env.OVERUSAGE_DATA_DIR ?? DEFAULT_DATA_DIR;
  const { url: databaseUrl, source: databaseSource } = chooseDatabase(env, dataDir, overrides);
  const zone = assertZone(overrides.zone ?? env.OVERUSAGE_TIME_ZONE ?? 'Europe/Brussels');
  const listen = parseListen(overrides.listen ?? env.OVERUSAGE_LISTEN ?? '127.0.0.1:8080');
  const level = (env.OVERUSAGE_LOG_LEVEL ?? 'info') as AppConfig['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    throw new ModuleError('CONFIG', 'OVERUSAGE_LOG_LEVEL must be debug, info, warn or error');
  const { key, source } = loadSecretKey(env, dataDir);
  const meteringWriter = (env.OVERUSAGE_METERING_WRITER ?? 'thread') as AppConfig['meteringWriter'];
  if (meteringWriter !== 'thread' && meteringWriter !== 'inline')
    throw new ModuleError('CONFIG', 'OVERUSAGE_METERING_WRITER must be thread or inline');
  const bridge = loadBridge(env);
  const whmcsApi = loadWhmcsApi(env);
  let trustProxy: TrustProxy;
  try {
    trustProxy = parseTrustProxy(env.OVERUSAGE_TRUST_PROXY, ['loopback']);
  } catch (err) {
    throw new ModuleError(
      'CONFIG',
      `OVERUSAGE_TRUST_PROXY must be a hop count or proxy addresses (${(err as Error).message})`,
    );
  }
  return {
    trustProxy,
    databaseUrl,
    databaseSource,
    secretKey: key,
    secretKeySource: source,
    zone,
    listen,
    dataDir,
    logLevel: level,
    meteringWriter,
    ...(bridge ? { bridge } : {}),
    ...(whmcsApi ? { whmcsApi } : {}),
  };
}

/** OVERUSAGE_BRIDGE_SECRET, or a file holding it (OVERUSAGE_BRIDGE_SECRET_FILE); at least 32 characters. */
function loadBridge(env: NodeJS.ProcessEnv): BridgeConfig | undefined {
  let secret = env.OVERUSAGE_BRIDGE_SECRET;
  let source = 'OVERUSAGE_BRIDGE_SECRET';
  if (!secret && env.OVERUSAGE_BRIDGE_SECRET_FILE) {
    const file = env.OVERUSAGE_BRIDGE_SECRET_FILE;
    if (!fs.existsSync(file))
      throw new ModuleError('CONFIG', `the bridge secret file ${file} does not exist`);
    secret = fs.readFileSync(file, 'utf8').trim();
    source = file;
  }
  if (!secret) return undefined;
  // the same rule as the WHMCS side: the secret is all that stands between the network and billing
  if (secret.length < 32)
    throw new ModuleError(
      'CONFIG',
      `the bridge secret (${source}) must be at least 32 characters; generate one with: openssl rand -hex 32`,
    );
  return { secret, secretSource: source };
}

/** OVERUSAGE_WHMCS_URL with OVERUSAGE_WHMCS_API_IDENTIFIER and OVERUSAGE_WHMCS_API_SECRET: all three or none. */
function loadWhmcsApi(env: NodeJS.ProcessEnv): WhmcsApiConfig | undefined {
  const url = env.OVERUSAGE_WHMCS_URL;
  const identifier = env.OVERUSAGE_WHMCS_API_IDENTIFIER;
  const secret = env.OVERUSAGE_WHMCS_API_SECRET;
  if (!url && !identifier && !secret) return undefined;
  if (!url || !identifier || !secret)
    throw new ModuleError(
      'CONFIG',
      'set OVERUSAGE_WHMCS_URL, OVERUSAGE_WHMCS_API_IDENTIFIER and OVERUSAGE_WHMCS_API_SECRET together (or none, to relay through the bridge)',
    );
  if (!/^https?:\/\//i.test(url))
    throw new ModuleError(
      'CONFIG',
      `OVERUSAGE_WHMCS_URL must start with https:// (or http://), not "${url}"`,
    );
  return {
    url,
    identifier,
    secret,
    ...(env.OVERUSAGE_WHMCS_API_ACCESS_KEY ? { accessKey: env.OVERUSAGE_WHMCS_API_ACCESS_KEY } : {}),
  };
}

export function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:(.+):)?(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new ModuleError('CONFIG', `"${text}" is not host:port (e.g. 127.0.0.1:8080)`);
  return { host: m[1] ?? '127.0.0.1', port };
}

/**
 * The key that seals SolusVM credentials. OVERUSAGE_SECRET_KEY (hex or base64), else a key file
 * (OVERUSAGE_SECRET_KEY_FILE, default data/secret.key) created with mode 0600 on first use.
 */
function loadSecretKey(env: NodeJS.ProcessEnv, dataDir: string): { key: Buffer; source: string } {
  if (env.OVERUSAGE_SECRET_KEY)
    return { key: parseSecretKey(env.OVERUSAGE_SECRET_KEY), source: 'OVERUSAGE_SECRET_KEY' };
  const file = env.OVERUSAGE_SECRET_KEY_FILE ?? path.join(dataDir, 'secret.key');
  if (!fs.existsSync(file)) {
    if (env.OVERUSAGE_SECRET_KEY_FILE)
      throw new ModuleError('CONFIG', `the secret key file ${file} does not exist`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(32).toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  }
  return { key: parseSecretKey(fs.readFileSync(file, 'utf8')), source: file };
}
