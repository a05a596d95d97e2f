import { execFile } from 'node:child_process';
import path from 'node:path';
import { expect } from 'chai';

describe('the TypeScript sources', function () {
  this.timeout(120_000);

  it('type-check cleanly under strict mode', async () => {
    const root = path.resolve(import.meta.dirname, '..');
    const result = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(
        process.execPath,
        [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', root],
        { cwd: root },
        (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
      );
    });
    expect(
      result.out
        .split('\n')
        .filter((l) => l.includes('error TS'))
        .slice(0, 10),
      'tsc errors',
    ).to.deep.equal([]);
    expect(result.code).to.equal(0);
  });
});
