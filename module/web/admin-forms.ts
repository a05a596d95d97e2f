import { UNIT_BYTES } from '../domain/bytes.js';
import { assertZone } from '../domain/calendar.js';
import type { ModuleError } from '../domain/errors.js';
import { parseResetPolicy } from '../domain/reset-policy.js';
import { profileSchema, type BillingProfile } from '../services/billing-settings.js';
import { normaliseMasterUrl, type MasterInput, type MasterView } from '../services/masters.js';

/**
 * The admin tab's two forms, as plain fields: a product's billing settings and a SolusVM master.
 * Each reads a form's text values into the service's input and says what is wrong by field (the
 * page shows it beside the field), never by a JSON path. The services validate again (the JSON
 * settings of the CLI and the API keep working); here the refusals get the form's words.
 */
export type FormValues = Record<string, string>;
export type FieldErrors = Record<string, string>;

export const SIZE_UNITS = ['GB', 'GiB', 'TB', 'TiB'] as const;
/** price rows on the form: one per currency, the last one empty for another currency */
export const PRICE_ROWS = 3;

const str = (v: unknown): string =>
  typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);

/** Bytes in the largest unit of the product's family (decimal for GB/TB, binary for GiB/TiB) that shows them exactly, as "5" + "TB". */
export function sizeFields(bytes: bigint, unit: string): { amount: string; unit: string } {
  const family = unit.endsWith('iB') ? (['TiB', 'GiB'] as const) : (['TB', 'GB'] as const);
  for (const u of family)
    if (bytes % UNIT_BYTES[u] === 0n) return { amount: (bytes / UNIT_BYTES[u]).toString(), unit: u };
  // not whole in GB (GiB): GB (GiB) with the decimals it needs, exact
  const u = family[1];
  const per = UNIT_BYTES[u];
  const whole = bytes / per;
  let frac = (bytes % per)
    .toString()
    .padStart(per.toString().length - 1, '0')
    .replace(/0+$/, '');
  if (frac === '') frac = '0';
  return { amount: `${whole}.${frac}`, unit: u };
}

export function productForm(p: BillingProfile | null): FormValues {
  const v: FormValues = {
    enabled: 'on',
    unit: 'GB',
    allowance_kind: 'bytes',
    allowance: '',
    allowance_unit: 'TB',
    tolerance: '0',
    tolerance_unit: 'GB',
    model: 'per_unit',
    block_units: '',
    commit_mbps: '',
    prorate: 'on',
    taxed: 'on',
    window_days: '14',
    window_counting: 'calendar',
    window_holidays: 'BE',
    unpicked_policy: 'standalone',
    unpicked_days: '35',
    upgrade_after: '3',
    thresholds: '80, 90, 100',
    limit_action: 'bill',
    throttle_mbps: '',
    restore_mbps: '',
    throttle_plan: '',
    panel_overage_off: '',
  };
  for (let i = 1; i <= PRICE_ROWS; i++)
    Object.assign(v, {
      [`cur_${i}`]: i === 1 && !p ? 'EUR' : '',
      [`overage_${i}`]: '',
      [`precommit_${i}`]: '',
      [`minimum_${i}`]: '',
      [`cap_${i}`]: '',
    });
  if (!p) return v;
  v.enabled = p.enabled ? 'on' : '';
  v.unit = p.unit;
  if (p.allowance === 'solusvm') v.allowance_kind = 'solusvm';
  else ({ amount: v.allowance, unit: v.allowance_unit } = sizeFields(BigInt(p.allowance), p.unit));
  ({ amount: v.tolerance, unit: v.tolerance_unit } = sizeFields(BigInt(p.tolerance), p.unit));
  v.model = p.model;
  v.block_units = p.blockUnits === undefined ? '' : String(p.blockUnits);
  v.commit_mbps = p.commitMbps ?? '';
  Object.entries(p.prices)
    .slice(0, PRICE_ROWS - 1)
    .forEach(([cur, pr], k) => {
      const i = k + 1;
      Object.assign(v, {
        [`cur_${i}`]: cur,
        [`overage_${i}`]: pr.overage,
        [`precommit_${i}`]: pr.precommit ?? '',
        [`minimum_${i}`]: pr.minimum ?? '',
        [`cap_${i}`]: pr.cap ?? '',
      });
    });
  v.prorate = p.prorate ? 'on' : '';
  v.taxed = p.taxed ? 'on' : '';
  v.window_days = String(p.window.days);
  v.window_counting = p.window.counting;
  v.window_holidays = p.window.holidays;
  v.unpicked_policy = p.unpicked.policy;
  v.unpicked_days = String(p.unpicked.afterDays);
  v.upgrade_after = String(p.upgradeAfterPeriods);
  v.thresholds = p.thresholds.join(', ');
  v.limit_action = p.limitPolicy.action;
  v.throttle_mbps = p.limitPolicy.throttleMbps === undefined ? '' : String(p.limitPolicy.throttleMbps);
  v.restore_mbps = p.limitPolicy.restoreMbps === undefined ? '' : String(p.limitPolicy.restoreMbps);
  v.throttle_plan = p.limitPolicy.throttlePlanId === undefined ? '' : String(p.limitPolicy.throttlePlanId);
  v.panel_overage_off = p.panelOverageOff ? 'on' : '';
  return v;
}

/** the form's own values of a POST: every field of the form, text, trimmed */
export function productValues(body: Record<string, unknown>): FormValues {
  const base = productForm(null);
  const v: FormValues = {};
  for (const k of Object.keys(base)) v[k] = str(body[k]).trim();
  // a checkbox that is not ticked is not sent
  for (const k of ['enabled', 'prorate', 'taxed', 'panel_overage_off'])
    v[k] = body[k] === undefined || str(body[k]) === '' ? '' : 'on';
  return v;
}

const whole = (
  errors: FieldErrors,
  v: FormValues,
  field: string,
  what: string,
  min: number,
  max: number,
  optional = false,
): number | undefined => {
  const t = v[field] ?? '';
  if (t === '') {
    if (!optional) errors[field] = `${what}: required, a whole number from ${min} to ${max}`;
    return undefined;
  }
  if (!/^\d+$/.test(t) || Number(t) < min || Number(t) > max) {
    errors[field] = `${what}: a whole number from ${min} to ${max}, not "${t}"`;
    return undefined;
  }
  return Number(t);
};

const ENUMS: Record<string, readonly string[]> = {
  unit: SIZE_UNITS,
  allowance_unit: SIZE_UNITS,
  tolerance_unit: SIZE_UNITS,
  allowance_kind: ['bytes', 'solusvm'],
  model: ['per_unit', 'per_block', 'avg_mbps', 'p95'],
  window_counting: ['calendar', 'business'],
  window_holidays: ['none', 'BE', 'NL'],
  unpicked_policy: ['next_renewal', 'standalone'],
  limit_action: ['bill', 'throttle', 'suspend'],
};

/** where a refusal of the settings' schema is shown on the form */
function fieldOfPath(path: ReadonlyArray<PropertyKey>, rowOf: Map<string, number>): string {
  const [a, b, c] = path.map(String);
  switch (a) {
    case 'allowance':
    case 'tolerance':
    case 'unit':
    case 'model':
    case 'thresholds':
      return a;
    case 'blockUnits':
      return 'block_units';
    case 'commitMbps':
      return 'commit_mbps';
    case 'prices': {
      const row = b === undefined ? 1 : (rowOf.get(b) ?? 1);
      return c && ['overage', 'precommit', 'minimum', 'cap'].includes(c) ? `${c}_${row}` : `cur_${row}`;
    }
    case 'window':
      return b === 'counting' ? 'window_counting' : b === 'holidays' ? 'window_holidays' : 'window_days';
    case 'unpicked':
      return b === 'policy' ? 'unpicked_policy' : 'unpicked_days';
    case 'upgradeAfterPeriods':
      return 'upgrade_after';
    case 'limitPolicy':
      return b === 'throttlePlanId'
        ? 'throttle_plan'
        : b === 'restoreMbps'
          ? 'restore_mbps'
          : b === 'throttleMbps'
            ? 'throttle_mbps'
            : 'limit_action';
    default:
      return '_form';
  }
}

/** the price rows: one currency each; a row left empty is no currency */
function pricesFromForm(
  v: FormValues,
  errors: FieldErrors,
): { prices: Record<string, Record<string, string>>; rowOf: Map<string, number> } {
  const prices: Record<string, Record<string, string>> = {};
  const rowOf = new Map<string, number>();
  for (let i = 1; i <= PRICE_ROWS; i++) {
    const cur = (v[`cur_${i}`] ?? '').toUpperCase();
    const filled = ['overage', 'precommit', 'minimum', 'cap'].some((k) => (v[`${k}_${i}`] ?? '') !== '');
    if (cur === '' && !filled) continue;
    if (!/^[A-Z]{3}$/.test(cur)) {
      errors[`cur_${i}`] =
        cur === ''
          ? 'the currency of these prices: three letters, like EUR'
          : `"${cur}" is not a currency code: three letters, like EUR`;
      continue;
    }
    if (rowOf.has(cur)) {
      errors[`cur_${i}`] = `${cur} is given twice`;
      continue;
    }
    rowOf.set(cur, i);
    if ((v[`overage_${i}`] ?? '') === '')
      errors[`overage_${i}`] = `the price of one ${v.unit} over the allowance in ${cur}: required, like 0.50`;
    prices[cur] = { overage: v[`overage_${i}`] ?? '' };
    for (const k of ['precommit', 'minimum', 'cap'])
      if ((v[`${k}_${i}`] ?? '') !== '') prices[cur][k] = v[`${k}_${i}`]!;
  }
  if (rowOf.size === 0 && !errors.cur_1) errors.cur_1 = 'give a price for at least one currency';
  return { prices, rowOf };
}

/** a size on the form, as the settings write it: "5 TB" (the amount beside its unit's field) */
function sizeFromForm(
  errors: FieldErrors,
  v: FormValues,
  field: string,
  unitField: string,
  what: string,
): string | undefined {
  const t = v[field] ?? '';
  if (!/^\d+(\.\d+)?$/.test(t)) {
    errors[field] =
      t === ''
        ? `${what}: required, like 5 (with the unit beside it)`
        : `${what}: a number like 5 or 2.5, not "${t}"`;
    return undefined;
  }
  return `${t} ${v[unitField]}`;
}

/** the day counts: the reclamation window, the wait before an unpicked period is invoiced, the upgrade hint */
function daysFromForm(
  v: FormValues,
  errors: FieldErrors,
): { windowDays?: number; unpickedDays?: number; upgradeAfter?: number } {
  const windowDays = whole(errors, v, 'window_days', 'the reclamation window', 1, 365);
  const unpickedDays = whole(
    errors,
    v,
    'unpicked_days',
    'the days before a period no renewal picks up is invoiced',
    0,
    366,
  );
  const upgradeAfter = whole(
    errors,
    v,
    'upgrade_after',
    'the periods over in a row before a bigger plan is suggested',
    1,
    24,
  );
  return { windowDays, unpickedDays, upgradeAfter };
}

/** the usage warnings: percentages of the allowance, like "80, 90, 100" */
function thresholdsFromForm(v: FormValues, errors: FieldErrors): number[] {
  const thresholds: number[] = [];
  const parts = (v.thresholds ?? '').split(/[\s,;%]+/).filter(Boolean);
  if (parts.length === 0) errors.thresholds = 'at least one percentage, like 80, 90, 100';
  for (const t of parts) {
    if (!/^\d+$/.test(t) || Number(t) < 1 || Number(t) > 1000) {
      errors.thresholds = `percentages of the allowance from 1 to 1000, separated by commas; "${t}" is not one`;
      break;
    }
    thresholds.push(Number(t));
  }
  return thresholds;
}

/** what happens at the limit: bill, throttle (to a speed or a SolusVM 2 plan) or suspend */
function limitPolicyFromForm(v: FormValues, errors: FieldErrors): Record<string, unknown> {
  const throttleMbps = whole(errors, v, 'throttle_mbps', 'the throttled speed', 1, 100_000, true);
  const restoreMbps = whole(errors, v, 'restore_mbps', 'the speed restored', 0, 100_000, true);
  const throttlePlanId = whole(errors, v, 'throttle_plan', 'the SolusVM 2 plan id', 1, 2 ** 31 - 1, true);
  if (
    v.limit_action === 'throttle' &&
    throttleMbps === undefined &&
    throttlePlanId === undefined &&
    !errors.throttle_mbps &&
    !errors.throttle_plan
  ) {
    errors.throttle_mbps = 'a throttle needs the speed (SolusVM 1 and 2) or a SolusVM 2 plan to resize to';
  }
  return {
    action: v.limit_action,
    ...(throttleMbps !== undefined ? { throttleMbps } : {}),
    ...(restoreMbps !== undefined ? { restoreMbps } : {}),
    ...(throttlePlanId !== undefined ? { throttlePlanId } : {}),
  };
}

/** the settings schema's refusals, each at the form field that shows it (the first one per field) */
function refusalsByField(
  issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }>,
  rowOf: Map<string, number>,
  errors: FieldErrors,
): FieldErrors {
  for (const i of issues) {
    let f = fieldOfPath(i.path, rowOf);
    // a minimum or a cap the currency cannot hold is refused for the currency: shown at its field
    const money = i.path[0] === 'prices' && i.path.length === 2 ? /\.(minimum|cap)\b/.exec(i.message) : null;
    if (money) f = `${money[1]}_${rowOf.get(String(i.path[1])) ?? 1}`;
    errors[f] ??= i.message;
  }
  return errors;
}

/**
 * The form's values as the settings' JSON, validated: the settings, or what is wrong by field.
 * What the form does not show (a transfer pool, client caps) is kept from the stored settings.
 */
export function productFromForm(
  v: FormValues,
  stored: BillingProfile | null,
): { ok: true; settings: Record<string, unknown> } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  for (const [field, allowed] of Object.entries(ENUMS)) {
    if (!allowed.includes(v[field] ?? '')) errors[field] = `choose one of ${allowed.join(', ')}`;
  }
  const allowance =
    v.allowance_kind === 'solusvm'
      ? 'solusvm'
      : sizeFromForm(errors, v, 'allowance', 'allowance_unit', 'the allowance');
  const tolerance = sizeFromForm(errors, v, 'tolerance', 'tolerance_unit', 'the tolerance');
  const blockUnits =
    v.model === 'per_block' ? whole(errors, v, 'block_units', 'the block size', 1, 1_000_000) : undefined;
  if ((v.model === 'avg_mbps' || v.model === 'p95') && (v.commit_mbps ?? '') === '')
    errors.commit_mbps = 'the committed rate: required for this model, in Mbit/s, like 100';
  const { prices, rowOf } = pricesFromForm(v, errors);
  const { windowDays, unpickedDays, upgradeAfter } = daysFromForm(v, errors);
  const thresholds = thresholdsFromForm(v, errors);
  const limitPolicy = limitPolicyFromForm(v, errors);
  if (Object.keys(errors).length) return { ok: false, errors };

  const settings: Record<string, unknown> = {
    enabled: v.enabled === 'on',
    unit: v.unit,
    model: v.model,
    ...(blockUnits !== undefined ? { blockUnits } : {}),
    ...(v.model === 'avg_mbps' || v.model === 'p95' ? { commitMbps: v.commit_mbps } : {}),
    allowance,
    tolerance,
    prices,
    prorate: v.prorate === 'on',
    taxed: v.taxed === 'on',
    window: { days: windowDays, counting: v.window_counting, holidays: v.window_holidays },
    unpicked: { policy: v.unpicked_policy, afterDays: unpickedDays },
    upgradeAfterPeriods: upgradeAfter,
    panelOverageOff: v.panel_overage_off === 'on',
    thresholds,
    limitPolicy,
    ...(stored?.pool !== undefined ? { pool: stored.pool } : {}),
    ...(stored?.poolLines !== undefined ? { poolLines: stored.poolLines } : {}),
    ...(stored?.clientCaps !== undefined ? { clientCaps: stored.clientCaps } : {}),
  };
  const r = profileSchema.safeParse(settings);
  if (!r.success) return { ok: false, errors: refusalsByField(r.error.issues, rowOf, errors) };
  return { ok: true, settings };
}

// ---- masters ------------------------------------------------------------------------------------

/** the secrets of a master: write-only, never put back into a page */
// (the token field is api_token: `token` is the panel's CSRF field)
export const MASTER_SECRETS = ['api_key', 'api_token', 'basic_auth_password'] as const;

export function masterForm(m: MasterView | null): FormValues {
  return {
    name: m?.name ?? '',
    version: m ? String(m.version) : '1',
    url: m?.baseUrl ?? '',
    api_id: '',
    api_key: '',
    api_token: '',
    tls: m?.tlsMode ?? 'verify',
    fingerprint: m?.tlsFingerprint ?? '',
    zone: m?.timeZone ?? '',
    reset_policy: m?.resetPolicy ?? 'first_of_month',
    anniversary_from: m?.anniversaryFrom ?? 'solusvm',
    api_user_type: m?.apiUserType ?? 'admin',
    unit_labels: m?.unitLabels ?? 'binary',
    basic_auth_user: '',
    basic_auth_password: '',
    concurrency: String(m?.concurrency ?? 8),
    timeout: String((m?.timeoutMs ?? 60_000) / 1000),
    retries: String(m?.retries ?? 2),
    panel_server: m?.panelServerId ? String(m.panelServerId) : '',
    active: m === null || m.active ? 'on' : '',
  };
}

export function masterValues(body: Record<string, unknown>): FormValues {
  const v: FormValues = {};
  for (const k of Object.keys(masterForm(null)))
    v[k] = MASTER_SECRETS.includes(k as (typeof MASTER_SECRETS)[number]) ? str(body[k]) : str(body[k]).trim();
  v.active = body.active === undefined || str(body.active) === '' ? '' : 'on';
  return v;
}

/** The page shows the values back after a refusal: everything but the secrets. */
export function withoutSecrets(v: FormValues): FormValues {
  const out = { ...v };
  for (const k of MASTER_SECRETS) out[k] = '';
  return out;
}

const MASTER_ENUMS: Record<string, readonly string[]> = {
  version: ['1', '2'],
  tls: ['verify', 'pinned', 'insecure'],
  anniversary_from: ['solusvm', 'panel'],
  api_user_type: ['admin', 'reseller'],
  unit_labels: ['binary', 'decimal'],
};

/** the master's name, and its address as its version writes it */
function checkNameAndUrl(v: FormValues, version: 1 | 2, errors: FieldErrors): void {
  if ((v.name ?? '') === '') errors.name = 'a name to tell it by, like solus-ams-1';
  else if (v.name!.length > 100) errors.name = 'at most 100 characters';
  if ((v.url ?? '') === '')
    errors.url =
      version === 1
        ? 'the master’s address, like https://master.example.net:5656'
        : 'the API root, like https://solus.example.net/api/v1';
  else if (!errors.version) {
    try {
      normaliseMasterUrl(version, v.url!);
    } catch (e) {
      errors.url = (e as Error).message.replace(
        /--basic-auth-user and --basic-auth-password/,
        'the fields below',
      );
    }
  }
}

/** the API credentials of the version: required when adding or changing the version, else kept when empty */
function checkCredentials(
  v: FormValues,
  version: 1 | 2,
  current: MasterView | null,
  errors: FieldErrors,
): void {
  const versionChanged = current !== null && current.version !== version;
  if (version === 1) {
    if ((v.api_id ?? '') === '' && (current === null || versionChanged))
      errors.api_id = 'the API id (SolusVM: Configuration › API Access)';
    if ((v.api_key ?? '') === '' && (current === null || versionChanged))
      errors.api_key = 'the API key (SolusVM: Configuration › API Access)';
    if (current !== null && !versionChanged && ((v.api_id ?? '') === '') !== ((v.api_key ?? '') === ''))
      errors[(v.api_id ?? '') === '' ? 'api_id' : 'api_key'] =
        'give the API id and the key together, or neither to keep the stored ones';
  } else {
    if ((v.api_token ?? '') === '' && (current === null || versionChanged))
      errors.api_token = 'an API token (SolusVM 2: Access › API Tokens)';
    if (v.api_user_type === 'reseller') errors.api_user_type = 'the reseller API user is SolusVM 1’s';
  }
}

/** a pinned certificate's fingerprint */
function checkTls(v: FormValues, errors: FieldErrors): void {
  if (v.tls === 'pinned' && (v.fingerprint ?? '') === '')
    errors.fingerprint = 'a pinned certificate needs its SHA-256 fingerprint (the connection test shows it)';
  else if ((v.fingerprint ?? '') !== '' && !/^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$/.test(v.fingerprint!))
    errors.fingerprint = 'a SHA-256 fingerprint: 64 hex digits, colons allowed';
}

/** the master's clock: its time zone and when its counters reset */
function checkClock(v: FormValues, errors: FieldErrors): void {
  if ((v.zone ?? '') === '')
    errors.zone =
      'the master’s time zone: SolusVM resets its counters at midnight on its own clock (like Europe/Brussels)';
  else {
    try {
      assertZone(v.zone!);
    } catch {
      errors.zone = `"${v.zone}" is not a time zone (like Europe/Brussels or UTC)`;
    }
  }
  try {
    parseResetPolicy(v.reset_policy);
  } catch (e) {
    errors.reset_policy = (e as ModuleError).message;
  }
}

/**
 * A master from the form. Adding needs the credentials of its version; editing keeps a stored
 * secret whose field is left empty (secrets are never shown, so an empty field means "unchanged").
 */
export function masterFromForm(
  v: FormValues,
  current: MasterView | null,
): { ok: true; input: MasterInput } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  for (const [f, allowed] of Object.entries(MASTER_ENUMS))
    if (!allowed.includes(v[f] ?? '')) errors[f] = `choose one of ${allowed.join(', ')}`;
  const version = v.version === '2' ? 2 : 1;
  checkNameAndUrl(v, version, errors);
  checkCredentials(v, version, current, errors);
  checkTls(v, errors);
  checkClock(v, errors);
  if ((v.basic_auth_password ?? '') !== '' && (v.basic_auth_user ?? '') === '' && !current?.hasBasicAuth)
    errors.basic_auth_user = 'the htpasswd user that goes with the password';
  const concurrency = whole(errors, v, 'concurrency', 'reads at once', 1, 64);
  const timeout = whole(errors, v, 'timeout', 'the timeout in seconds', 1, 600);
  const retries = whole(errors, v, 'retries', 'retries', 0, 10);
  const panelServerId = whole(errors, v, 'panel_server', 'the panel’s server id', 1, 2 ** 31 - 1, true);
  if (Object.keys(errors).length) return { ok: false, errors };
  const input: MasterInput = {
    name: v.name!,
    version,
    baseUrl: v.url!,
    tlsMode: v.tls as 'verify' | 'pinned' | 'insecure',
    tlsFingerprint: v.fingerprint ? v.fingerprint : null,
    timeZone: v.zone!,
    resetPolicy: v.reset_policy!,
    anniversaryFrom: v.anniversary_from as 'solusvm' | 'panel',
    apiUserType: v.api_user_type as 'admin' | 'reseller',
    unitLabels: v.unit_labels as 'binary' | 'decimal',
    concurrency: concurrency!,
    timeoutMs: timeout! * 1000,
    retries: retries!,
    active: v.active === 'on',
    panelServerId: panelServerId ?? null,
    ...(version === 1 && v.api_id ? { apiId: v.api_id, apiKey: v.api_key! } : {}),
    ...(version === 2 && v.api_token ? { token: v.api_token } : {}),
    ...(v.basic_auth_user
      ? {
          basicAuthUser: v.basic_auth_user,
          ...(v.basic_auth_password ? { basicAuthPassword: v.basic_auth_password } : {}),
        }
      : {}),
  };
  return { ok: true, input };
}
