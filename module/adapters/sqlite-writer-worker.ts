import { parentPort, workerData } from 'node:worker_threads';
import { DateTime, Settings } from 'luxon';
import { openDatabase } from './database.js';
import { createMeteringStore } from './metering-store.js';
import { unpackFailure, unpackResult } from './sqlite-writer.js';

// The writer thread of createThreadedMeteringStore: one connection, one store, one write at a time.
Settings.throwOnInvalid = true;
Settings.defaultZone = 'utc';

const db = openDatabase((workerData as { databaseUrl: string }).databaseUrl);
const store = createMeteringStore(db.knex);
let queue: Promise<unknown> = Promise.resolve();

parentPort!.on('message', (msg: { id: number; op: string; [k: string]: unknown }) => {
  queue = queue.then(async () => {
    try {
      let value: unknown;
      if (msg.op === 'writeBatch') {
        value = await store.writeBatch(
          msg.runId as number,
          (msg.batches as Array<{ masterId: number; results: never[] }>).map((b) => ({
            masterId: b.masterId,
            results: b.results.map(unpackResult),
          })),
          DateTime.fromMillis(msg.atMs as number, { zone: 'utc' }),
        );
      } else if (msg.op === 'recordFailures') {
        value = await store.recordFailures(msg.runId as number, (msg.failures as never[]).map(unpackFailure));
      } else {
        throw new Error(`unknown writer operation ${msg.op}`);
      }
      parentPort!.postMessage({ id: msg.id, ok: true, value });
    } catch (err) {
      const e = err as { message?: string; code?: string; errno?: number };
      parentPort!.postMessage({
        id: msg.id,
        ok: false,
        error: { message: e.message ?? String(err), code: e.code, errno: e.errno },
      });
    }
  });
});
