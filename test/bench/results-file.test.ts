import { expect } from 'chai';
import {
  mergeResults,
  resultsFileText,
  resultsTable,
  stamp,
  TABLE_END,
  TABLE_START,
  withTable,
} from '../../bench/results-file.js';
import type { BenchResult } from '../../bench/support.js';

/**
 * bench/results.json mixes runs (a run with --only replaces only its figures): each figure keeps
 * the time its own benchmark ended and the machine's load then, never the time of the last run.
 */
const fig = (name: string, engine: 'sqlite' | 'mysql', value: number): BenchResult => ({
  name,
  value,
  unit: 'ms',
  baseline: 10,
  ratio: value / 10,
  goal: '<= 25 ms',
  engine,
});

describe('bench results: one time and load per figure', () => {
  it('stamps a figure with its own time and the load averages rounded to two decimals', () => {
    const s = stamp(
      fig('invoice_creation.p99', 'mysql', 24.41),
      new Date('2026-12-05T17:30:00Z'),
      [3.456, 2.004, 1.5],
      2,
    );
    expect(s.measuredAt).to.equal('2026-12-05T17:30:00.000Z');
    // 3.456 → 3.46, 2.004 → 2 (the 15-minute figure is not kept)
    expect(s.load).to.deep.equal({ avg1: 3.46, avg5: 2, cores: 2 });
  });

  it('keeps the times of figures from earlier runs: an old file’s time for its figures, each later run’s for its own', () => {
    // the old shape: one measuredAt for all, written by the run of 27 November 04:07
    const old = {
      measuredAt: '2026-11-27T04:07:18.441Z',
      node: 'v20',
      results: [fig('a', 'sqlite', 1), fig('a', 'mysql', 2), fig('b', 'mysql', 3)],
    };
    // run 1 (17:30, load 5.2) measures a on mysql only
    const run1 = mergeResults(old, [
      stamp(fig('a', 'mysql', 20), new Date('2026-12-05T17:30:00Z'), [5.2, 4.1], 2),
    ]);
    expect(run1.map((r) => [r.name, r.engine, r.value, r.measuredAt, r.load?.avg1 ?? null])).to.deep.equal([
      ['a', 'sqlite', 1, '2026-11-27T04:07:18.441Z', null],
      ['b', 'mysql', 3, '2026-11-27T04:07:18.441Z', null],
      ['a', 'mysql', 20, '2026-12-05T17:30:00.000Z', 5.2],
    ]);
    // what is written has no run-wide time; run 2 (18:00, load 1.1) reads it back and measures b
    const written = resultsFileText(run1, 'v20');
    expect(JSON.parse(written)).to.not.have.property('measuredAt');
    const run2 = mergeResults(JSON.parse(written), [
      stamp(fig('b', 'mysql', 30), new Date('2026-12-05T18:00:00Z'), [1.1, 0.9], 2),
    ]);
    // a on mysql still says 17:30 under load 5.2: the old writer would have said 18:00 for it
    expect(run2.map((r) => [r.name, r.engine, r.value, r.measuredAt, r.load?.avg1 ?? null])).to.deep.equal([
      ['a', 'sqlite', 1, '2026-11-27T04:07:18.441Z', null],
      ['a', 'mysql', 20, '2026-12-05T17:30:00.000Z', 5.2],
      ['b', 'mysql', 30, '2026-12-05T18:00:00.000Z', 1.1],
    ]);
  });

  it('reads a missing or broken file as no figures', () => {
    expect(mergeResults(null, [])).to.deep.equal([]);
    expect(mergeResults({ results: 'x' }, [])).to.deep.equal([]);
  });

  it('prints one table row a figure with its time to the minute and its load, ? where unknown', () => {
    const rows = mergeResults({ measuredAt: '2026-11-27T04:07:18.441Z', results: [fig('a', 'sqlite', 1)] }, [
      stamp(fig('b', 'mysql', 24.41), new Date('2026-12-05T17:30:59Z'), [5.234, 4], 2),
    ]);
    rows.push({ ...fig('c|d', 'mysql', 5), measuredAt: 'unknown', load: null });
    expect(resultsTable(rows).split('\n')).to.deep.equal([
      '| figure | engine | value | baseline | ratio | goal | measured | load (1 min) |',
      '|---|---|---|---|---|---|---|---|',
      '| a | sqlite | 1 ms | 10 | 0.1 | <= 25 ms | 2026-11-27 04:07 UTC | ? |',
      '| b | mysql | 24.41 ms | 10 | 2.441 | <= 25 ms | 2026-12-05 17:30 UTC | 5.23 on 2 cores |',
      '| c\\|d | mysql | 5 ms | 10 | 0.5 | <= 25 ms | ? | ? |',
      '',
    ]);
  });

  it('puts the table between the README’s markers and leaves a README without them alone', () => {
    const readme = `# x\n${TABLE_START}\nold\n${TABLE_END}\nafter\n`;
    expect(withTable(readme, '| t |\n')).to.equal(`# x\n${TABLE_START}\n| t |\n${TABLE_END}\nafter\n`);
    expect(withTable('# x\n', '| t |\n')).to.equal('# x\n');
  });
});
