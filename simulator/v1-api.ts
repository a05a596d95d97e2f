import type { SimMaster } from './master.js';
import { bareText, PHP_CONTENT_TYPE, type Reply } from './reply.js';
import type { ServerRecord, ServerType } from './server-store.js';

/**
 * SolusVM 1 Admin API (/api/admin/command.php), docs/solusvm.md, "SolusVM 1 Admin API": XML fragments without a root
 * element by default (list actions start with an XML declaration), flat JSON with rdtype=json
 * mixing strings and numbers, and bare-text errors with HTTP 200 for auth, IP and lookups.
 */

export type V1Params = Record<string, string>;

type Value = string | number;

const XML_DECL = "<?xml version='1.0'?>\n";
const GIB = 1024n ** 3n;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function reply(body: string, kind: 'xml' | 'json'): Reply {
  return { status: 200, headers: { 'content-type': PHP_CONTENT_TYPE }, body, kind };
}

function xmlFields(pairs: Array<[string, Value]>, sep: string): string {
  return pairs.map(([k, v]) => `<${k}>${esc(String(v))}</${k}>`).join(sep);
}

/**
 * JSON.stringify(Object.fromEntries(pairs)), written directly when no name repeats and none is an
 * array index (which an object would move to the front).
 */
function jsonObjectText(pairs: Array<[string, Value]>): string {
  let s = '';
  for (let i = 0; i < pairs.length; i++) {
    const k = pairs[i]![0];
    let plain = !/^(?:0|[1-9]\d*)$/.test(k);
    for (let j = 0; j < i && plain; j++) plain = pairs[j]![0] !== k;
    if (!plain) return JSON.stringify(Object.fromEntries(pairs));
    s += `${i > 0 ? ',' : ''}${JSON.stringify(k)}:${JSON.stringify(pairs[i]![1])}`;
  }
  return `{${s}}`;
}

function answer(
  json: boolean,
  pairs: Array<[string, Value]>,
  opts: { decl?: boolean; sep?: string } = {},
): Reply {
  if (json) return reply(jsonObjectText(pairs), 'json');
  return reply((opts.decl ? XML_DECL : '') + xmlFields(pairs, opts.sep ?? ''), 'xml');
}

function error(json: boolean, msg: string): Reply {
  return answer(json, [
    ['status', 'error'],
    ['statusmsg', msg],
  ]);
}

function success(json: boolean, msg: string): Reply {
  return answer(json, [
    ['status', 'success'],
    ['statusmsg', msg],
  ]);
}

export function v1State(rec: ServerRecord): 'online' | 'offline' | 'disabled' {
  return rec.suspended ? 'disabled' : rec.power;
}

/** "total,used,free,percent": free may go negative; percent rounded half-up and may pass 100; 0 when unlimited. */
export function bandwidthField(total: bigint, used: bigint): string {
  const percent = total > 0n ? (used * 200n + total) / (2n * total) : 0n;
  return `${total},${used},${total - used},${percent}`;
}

function ctid(rec: ServerRecord): string {
  return rec.type === 'openvz' ? String(rec.id) : `${rec.type === 'xenhvm' ? 'xen' : rec.type}${rec.id}`;
}

function mac(id: number): string {
  const b = [(id >>> 16) & 255, (id >>> 8) & 255, id & 255].map((x) => x.toString(16).padStart(2, '0'));
  return `52:54:00:${b.join(':')}`;
}

function normaliseNodeType(t: string): ServerType | null {
  const v = t.trim().toLowerCase();
  if (v === 'xen hvm' || v === 'xenhvm' || v === 'hvm') return 'xenhvm';
  if (v === 'kvm' || v === 'openvz' || v === 'xen') return v;
  return null;
}

function vserverBrief(rec: ServerRecord): Array<[string, string]> {
  return [
    ['vserverid', String(rec.id)],
    ['ctid-xid', ctid(rec)],
    ['clientid', String(rec.clientId)],
    ['ipaddress', rec.ip],
    ['hostname', rec.hostname],
    ['template', rec.template],
    ['hdd', String(rec.hddBytes)],
    ['memory', String(rec.memoryBytes)],
    ['swap-burst', '0'],
    ['type', rec.type],
    ['mac', mac(rec.id)],
  ];
}

/** A non-negative whole number as PHP's intval would accept it, else null. */
function wholeNumber(v: string | undefined): bigint | null {
  if (v === undefined || !/^\s*\d{1,15}\s*$/.test(v)) return null;
  return BigInt(v.trim());
}

export function v1ServerId(params: V1Params): number | undefined {
  const v = params.vserverid;
  if (v === undefined || !/^\d{1,15}$/.test(v.trim())) return undefined;
  return Number(v.trim());
}

export function handleV1(
  m: SimMaster,
  params: V1Params,
  remoteIp: string,
  scope: 'admin' | 'reseller' = 'admin',
): Reply {
  const reseller = scope === 'reseller' ? m.reseller : null;
  const creds = scope === 'reseller' ? reseller : m.v1Credentials;
  if (!creds || params.id !== creds.apiId || params.key !== creds.apiKey || m.revoked)
    return bareText('Invalid id or key');
  if (m.allowedIps && !m.allowedIps.has(remoteIp)) return bareText('Invalid ipaddress');

  const json = params.rdtype === 'json';
  const action = params.action ?? '';
  const now = m.now();

  const notFound = () =>
    m.v1NotFound === 'status'
      ? error(json, 'Virtual server not found')
      : bareText('Virtual server not found');
  // a reseller sees only the servers of its own clients
  const visible = (rec: ServerRecord | undefined) =>
    rec && (!reseller || reseller.clientIds.includes(rec.clientId)) ? rec : undefined;
  const withServer = (fn: (rec: ServerRecord) => Reply): Reply => {
    const id = v1ServerId(params);
    const rec = visible(id === undefined ? undefined : m.store.get(id));
    return rec ? fn(rec) : notFound();
  };
  const mutate = (fn: (rec: ServerRecord) => Reply): Reply => {
    const id = v1ServerId(params);
    const rec = visible(id === undefined ? undefined : m.store.get(id)) ? m.store.mutable(id!) : undefined;
    return rec ? fn(rec) : notFound();
  };
  // the reseller API has no node calls
  if (reseller && /^(node-|listnodes)/.test(action)) return error(json, 'Invalid action');

  switch (action) {
    case 'vserver-infoall':
      return withServer((rec) => {
        const used = m.counterOf(rec, now);
        // nostatus: the node does not look at the server's live state, and no state is sent
        const live = params.nostatus !== 'true';
        if (live) m.noteLiveStateCheck();
        const pairs: Array<[string, Value]> = [
          ['status', 'success'],
          ['statusmsg', ''],
          ...(live ? ([['state', v1State(rec)]] as Array<[string, Value]>) : []),
          ['node', rec.node.name],
          ['mainipaddress', rec.ip],
          ['ipaddresses', rec.ip],
          ['type', rec.type],
          // KVM reports no disk/memory usage (WHMCS shows them for openvz/xen only)
          ['hdd', `${rec.hddBytes},0,${rec.hddBytes},0`],
          ['memory', `${rec.memoryBytes},0,${rec.memoryBytes},0`],
          ['bandwidth', bandwidthField(rec.limitBytes, used)],
        ];
        if (params.nographs !== 'true') {
          const c = ctid(rec);
          pairs.push(
            ['trafficgraph', `/graphs/${c}-traffic-86400.png`],
            ['loadgraph', `/graphs/${c}-load-86400.png`],
            ['memorygraph', `/graphs/${c}-memory-86400.png`],
          );
        }
        pairs.push(['internalips', ''], ['rescuemode', json ? 0 : '0']);
        return answer(json, pairs, { sep: '\n' });
      });

    case 'vserver-status':
      return withServer((rec) => {
        m.noteLiveStateCheck();
        return success(json, v1State(rec));
      });

    case 'vserver-checkexists':
      return withServer(() => success(json, 'Virtual server exists'));

    case 'vserver-info':
      return withServer((rec) => {
        const pairs: Array<[string, Value]> = [
          ['status', 'success'],
          ['statusmsg', ''],
          ...vserverBrief(rec),
        ];
        if (json) {
          // the real API mixes types: here the id and swap come back as numbers
          for (const p of pairs) if (p[0] === 'vserverid' || p[0] === 'swap-burst') p[1] = Number(p[1]);
        }
        return answer(json, pairs);
      });

    case 'vserver-suspend':
      return mutate((rec) => {
        rec.suspended = true;
        return success(json, 'Virtual server suspended');
      });

    case 'vserver-unsuspend':
      return mutate((rec) => {
        rec.suspended = false;
        return success(json, 'Virtual server unsuspended');
      });

    case 'vserver-bandwidth':
      return mutate((rec) => {
        const limit = wholeNumber(params.limit);
        if (limit === null) return error(json, 'Invalid bandwidth limit');
        let over: bigint | null = null;
        if (params.overlimit !== undefined && params.overlimit !== '') {
          over = wholeNumber(params.overlimit);
          if (over === null) return error(json, 'Invalid bandwidth overlimit');
        }
        // GB in the API means GiB: 15000 GB shows up as 15000 × 1024³ bytes (docs/solusvm.md, "SolusVM 1 Admin API")
        rec.limitBytes = limit * GIB;
        if (over !== null) rec.overlimitBytes = over * GIB;
        return success(json, 'Bandwidth limit updated');
      });

    case 'vserver-change-nspeed':
      return mutate((rec) => {
        const speed = wholeNumber(params.customnspeed);
        if (speed === null) return error(json, 'Invalid network speed');
        rec.nspeed = Number(speed);
        return success(json, 'Network speed updated');
      });

    case 'vserver-change':
      return mutate((rec) => {
        const plan = params.plan?.trim();
        if (!plan) return error(json, 'Invalid plan');
        rec.plan = { id: rec.plan.id, name: plan };
        return success(json, 'Virtual server updated');
      });

    case 'listnodes':
    case 'node-idlist': {
      let type: ServerType | null = null;
      if (params.type !== undefined && params.type !== '') {
        type = normaliseNodeType(params.type);
        if (!type) return error(json, 'Invalid type');
      }
      const nodes = m.store.nodes().filter((n) => type === null || n.type === type);
      const list = nodes.map((n) => (action === 'listnodes' ? n.name : String(n.id))).join(',');
      return answer(
        json,
        [
          ['status', 'success'],
          ['statusmsg', ''],
          ['nodes', list],
        ],
        { decl: true },
      );
    }

    case 'node-virtualservers': {
      const nodeId = wholeNumber(params.nodeid);
      const node = nodeId === null ? undefined : m.store.node(Number(nodeId));
      if (!node) return bareText('Node not found');
      const entries: Array<Array<[string, string]>> = [];
      for (const id of m.store.ids()) {
        const rec = m.store.get(id)!;
        if (rec.node.id === node.id) entries.push(vserverBrief(rec));
      }
      if (json) {
        return reply(
          JSON.stringify({
            status: 'success',
            statusmsg: '',
            virtualservers: entries.map((e) => Object.fromEntries(e)),
          }),
          'json',
        );
      }
      const inner = entries.map((e) => `<virtualserver>${xmlFields(e, '')}</virtualserver>`).join('');
      return reply(
        `${XML_DECL}<status>success</status><statusmsg></statusmsg><virtualservers>${inner}</virtualservers>`,
        'xml',
      );
    }

    default:
      return error(json, 'Invalid action');
  }
}
