import { expect } from 'chai';
import { createSlicer, mapInSlices } from '../../module/adapters/slices.js';

/** Counts the turns of the event loop: one each time the check phase runs its immediates. */
function turnCounter(): { turns: () => number; stop: () => void } {
  let turns = 0;
  let stopped = false;
  const spin = () => {
    if (stopped) return;
    turns++;
    setImmediate(spin);
  };
  setImmediate(spin);
  return { turns: () => turns, stop: () => void (stopped = true) };
}

describe('work cut into slices of the event loop', () => {
  it('maps to the same values in the same order', async () => {
    const items = Array.from({ length: 100 }, (_, i) => i);
    expect(await mapInSlices(items, (n, i) => n * 10 + i, createSlicer(0))).to.deep.equal(
      items.map((n, i) => n * 10 + i),
    );
  });

  it('lets the loop turn once a slice is spent, checking the time every 16 items', async () => {
    // a slice of 0 ms is spent at every check: after items 15, 31 and 47 the loop turns once,
    // so items 0–15 see no turn, 16–31 one, 32–47 two
    const loop = turnCounter();
    const seen = await mapInSlices(Array.from({ length: 48 }), () => loop.turns(), createSlicer(0));
    loop.stop();
    expect(seen).to.deep.equal([...Array(16).fill(0), ...Array(16).fill(1), ...Array(16).fill(2)]);
  });

  it('holds the loop while the slice lasts', async () => {
    // a slice of a day is never spent here: all 48 items in one go, the loop not turning
    const loop = turnCounter();
    const seen = await mapInSlices(Array.from({ length: 48 }), () => loop.turns(), createSlicer(86_400_000));
    loop.stop();
    expect(seen).to.deep.equal(Array(48).fill(0));
  });
});
