/**
 * The InnoDB buffer pool for a benchmark at a provider's size: raised for the run when smaller
 * than asked (MariaDB resizes it online) and put back after, so the shared test server keeps its
 * own setting. The note goes into every MariaDB figure of the run.
 */
import { mysqlAdmin } from '../test/support/engines.js';

const MB = 1024 * 1024;

export interface PoolSizing {
  note: string | null;
  restore(): Promise<void>;
}

async function poolBytes(): Promise<number> {
  const admin = mysqlAdmin();
  try {
    const [rows] = (await admin.raw('SELECT @@innodb_buffer_pool_size AS size')) as unknown as [
      Array<{ size: number | string }>,
    ];
    return Number(rows[0]!.size);
  } finally {
    await admin.destroy();
  }
}

async function setPool(bytes: number): Promise<void> {
  const admin = mysqlAdmin();
  try {
    await admin.raw(`SET GLOBAL innodb_buffer_pool_size = ${Math.trunc(bytes)}`);
  } finally {
    await admin.destroy();
  }
}

/** `wantMb` null: the server's pool as it is (named in no note). */
export async function sizeInnodbPool(wantMb: number | null): Promise<PoolSizing> {
  const had = await poolBytes();
  if (wantMb === null || !(wantMb > 0) || had >= wantMb * MB)
    return {
      note: wantMb === null ? null : `InnoDB buffer pool ${had / MB} MB (the server's own)`,
      restore: async () => {},
    };
  await setPool(wantMb * MB);
  const now = await poolBytes();
  return {
    note: `InnoDB buffer pool ${Math.round(now / MB)} MB for this run (the server's own ${had / MB} MB, put back after)`,
    restore: () => setPool(had),
  };
}
