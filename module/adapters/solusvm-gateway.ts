/**
 * The one place that picks the SolusVM client for a master's version; services only see
 * SolusVmGateway.
 */
import { invalidInput } from '../domain/errors.js';
import type { SolusVmHttpOptions } from './solusvm-http.js';
import type { MasterConnection, SolusVmGateway } from './solusvm-types.js';
import { createSolusVmV1Client, type SolusVmV1ClientOptions } from './solusvm-v1-client.js';
import { createSolusVmV2Client, type SolusVmV2ClientOptions } from './solusvm-v2-client.js';

export type SolusVmGatewayOptions = SolusVmHttpOptions & SolusVmV1ClientOptions & SolusVmV2ClientOptions;

export function createSolusVmGateway(
  conn: MasterConnection,
  opts: SolusVmGatewayOptions = {},
): SolusVmGateway {
  if (conn.version === 1) return createSolusVmV1Client(conn, opts);
  if (conn.version === 2) return createSolusVmV2Client(conn, opts);
  throw invalidInput(`unknown SolusVM version ${String(conn.version)}; use 1 or 2`);
}
