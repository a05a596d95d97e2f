import { SimMaster, type MasterOptions } from './master.js';

export type { Faults, MalformedMode } from './faults.js';
export type {
  MasterOptions,
  MasterStats,
  ServerView,
  SimMasterState,
  V1Credentials,
  V2Credentials,
} from './master.js';
export { SimMaster } from './master.js';
export type { ResetPolicy } from './resets.js';
export type {
  BulkTemplate,
  NodeRef,
  PlanLimit,
  PlanRef,
  ServerSpec,
  ServerState,
  ServerType,
} from './server-store.js';
export type { TrafficProfile } from './traffic.js';
export { createSettableClock, type SettableClock } from './clock.js';
export { toEpochMs } from './zone-calendar.js';

export interface Simulator {
  now(): number;
  /** Create a master (not yet listening: call `await master.listen()`). */
  addMaster(opts: MasterOptions): SimMaster;
  master(name: string): SimMaster | undefined;
  masters(): SimMaster[];
  /** Close every master's listener. */
  close(): Promise<void>;
}

/**
 * A set of simulated SolusVM masters sharing one injected clock (epoch ms). Counters are derived
 * from that clock on every read, so moving the clock moves every counter.
 */
export function createSimulator(opts: { now: () => number }): Simulator {
  const masters = new Map<string, SimMaster>();
  let serial = 0;
  return {
    now: () => opts.now(),
    addMaster(mo: MasterOptions): SimMaster {
      if (masters.has(mo.name)) throw new Error(`master "${mo.name}" already exists`);
      const m = new SimMaster(mo, opts.now, serial++);
      masters.set(mo.name, m);
      return m;
    },
    master: (name) => masters.get(name),
    masters: () => [...masters.values()],
    async close() {
      await Promise.all([...masters.values()].map((m) => m.close()));
    },
  };
}
