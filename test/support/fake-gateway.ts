import type { SpeedSettings } from '../../module/domain/limit-policy.js';
import {
  SolusVmError,
  type ConnectionReport,
  type ServerState,
  type ServerSummary,
  type SolusVmGateway,
  type TrafficReading,
} from '../../module/adapters/solusvm-types.js';

/**
 * A SolusVM stand-in for service tests that need exact control of each counter and failure;
 * protocol behaviour is tested against the simulator instead.
 */
export class FakeMaster {
  readonly counters = new Map<string, bigint>();
  readonly failing = new Map<string, SolusVmError>();
  /** server states (online unless set); suspend/unsuspend change them */
  readonly states = new Map<string, ServerState>();
  /** the speed settings setSpeed left (SolusVM 1 style: read back as null) */
  readonly speeds = new Map<string, SpeedSettings>();
  /** actions taken (not reads), in order: "suspend 101", "setSpeed 101 …" */
  readonly actions: string[] = [];
  /** a server whose state reads and actions fail (reads of traffic still work) */
  readonly failingActions = new Map<string, SolusVmError>();
  reads = 0;
  maxInFlight = 0;
  private inFlight = 0;
  delayMs = 0;

  set(ref: string, used: bigint): void {
    this.counters.set(ref, used);
  }

  add(ref: string, bytes: bigint): void {
    this.counters.set(ref, (this.counters.get(ref) ?? 0n) + bytes);
  }

  fail(
    ref: string,
    err: SolusVmError | null = new SolusVmError('transport', 'connection refused', { retryable: true }),
  ): void {
    if (err) this.failing.set(ref, err);
    else this.failing.delete(ref);
  }

  private act(ref: string, what?: string): void {
    const err = this.failingActions.get(ref);
    if (err) throw err;
    if (what) this.actions.push(what);
  }

  gateway(): SolusVmGateway {
    const m = this;
    return {
      version: 1,
      async readTraffic(ref: string): Promise<TrafficReading> {
        m.inFlight++;
        m.maxInFlight = Math.max(m.maxInFlight, m.inFlight);
        try {
          if (m.delayMs) await new Promise((r) => setTimeout(r, m.delayMs));
          m.reads++;
          const err = m.failing.get(ref);
          if (err) throw err;
          const used = m.counters.get(ref);
          if (used === undefined) throw new SolusVmError('not_found', 'Virtual server not found');
          return {
            usedBytes: used,
            limitBytes: null,
            incomingBytes: null,
            outgoingBytes: null,
            state: m.states.get(ref) ?? 'online',
            raw: `bandwidth=0,${used},0,0`,
          };
        } finally {
          m.inFlight--;
        }
      },
      async serverExists(ref: string): Promise<boolean> {
        return m.counters.has(ref) || m.failing.has(ref);
      },
      async getState(ref: string): Promise<ServerState> {
        m.act(ref);
        return m.states.get(ref) ?? 'online';
      },
      async suspend(ref: string) {
        m.act(ref, `suspend ${ref}`);
        m.states.set(ref, 'suspended');
      },
      async unsuspend(ref: string) {
        m.act(ref, `unsuspend ${ref}`);
        m.states.set(ref, 'online');
      },
      async readSpeed() {
        return null;
      },
      async setSpeed(ref: string, speed: SpeedSettings) {
        m.act(ref, `setSpeed ${ref} ${JSON.stringify(speed)}`);
        m.speeds.set(ref, speed);
      },
      async *listServers(): AsyncIterable<ServerSummary> {},
      async testConnection(): Promise<ConnectionReport> {
        return {
          ok: true,
          message: 'ok',
          version: 1,
          fingerprint256: null,
          latencyMs: 1,
          serverCount: m.counters.size,
          errorKind: null,
        };
      },
      close() {},
    };
  }
}
