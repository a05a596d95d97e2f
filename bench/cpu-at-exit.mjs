/**
 * Loaded with --import into the `overusage collect` the metering benchmark starts: at exit, its CPU
 * time (process.cpuUsage, user + system, start-up included) goes to the file the benchmark names.
 */
import fs from 'node:fs';

const file = process.env.OVERUSAGE_BENCH_CPU_FILE;
if (file) {
  process.on('exit', () => {
    const { user, system } = process.cpuUsage();
    fs.writeFileSync(file, JSON.stringify({ user, system }));
  });
}
