// Mocha root-hook plugin: with OVERUSAGE_TEST_TIMES=/some/path.jsonl set, appends one line per test
// file run ({file, ms, cpuMs, childCpuMs, pid}) so the suite's slow files can be found and the
// parallel run's order kept slowest-first (test/support/slow-first.json). Without the variable it
// does nothing. Works serially (a file ends when the next file's first test starts) and with
// --parallel (each file is its own root suite in a worker). A file's `before` hooks run before its
// first test, so in a serial run they are counted to the file before it (the total is exact).
'use strict';
const fs = require('node:fs');

const out = process.env.OVERUSAGE_TEST_TIMES;

/** CPU of the waited-for child processes (CLI runs, crash children, PHP, Chromium), in ms */
function childCpuMs() {
  try {
    const stat = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) * 10; // cutime + cstime, in 1/100 s
  } catch {
    return 0;
  }
}

let current = null;

function open(file) {
  current = { file, t0: performance.now(), cpu0: process.cpuUsage(), child0: childCpuMs() };
}

function close() {
  if (!current || !current.file) return;
  const cpu = process.cpuUsage(current.cpu0);
  const line = {
    file: current.file.slice(process.cwd().length + 1),
    ms: Math.round(performance.now() - current.t0),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    childCpuMs: childCpuMs() - current.child0,
    pid: process.pid,
  };
  fs.appendFileSync(out, JSON.stringify(line) + '\n');
  current = null;
}

exports.mochaHooks = out
  ? {
      beforeAll() {
        open(null);
      },
      beforeEach() {
        const file = this.currentTest && this.currentTest.file;
        if (!file) return;
        if (current && current.file === null) current.file = file;
        else if (!current || current.file !== file) {
          close();
          open(file);
        }
      },
      afterAll() {
        close();
      },
    }
  : {};
