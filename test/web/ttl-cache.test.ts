import { expect } from 'chai';
import { ttlCache } from '../../module/web/ttl-cache.js';

describe('the pages cache', () => {
  it('serves a value until its time to live has passed, on the clock it is given', () => {
    let t = 1_000_000;
    const c = ttlCache<string>(15_000, 10, () => t);
    c.set('widget:7', 'page of 12:00:00');
    t += 15_000; // 15 s later: still served (a page is at most 15 s old)
    expect(c.get('widget:7')).to.equal('page of 12:00:00');
    t += 1; // 15.001 s: gone
    expect(c.get('widget:7')).to.equal(undefined);
  });

  it('drops the least recently used entry when full, and keeps a cached null', () => {
    const c = ttlCache<string | null>(60_000, 2, () => 0);
    c.set('a', 'A');
    c.set('b', null);
    expect(c.get('a')).to.equal('A'); // a is now the most recently used
    c.set('c', 'C');
    expect([c.get('a'), c.get('b'), c.get('c')]).to.deep.equal(['A', undefined, 'C']);
    c.set('n', null);
    expect(c.get('n')).to.equal(null);
  });

  it('caches nothing with a time to live of 0', () => {
    const c = ttlCache<string>(0, 10, () => 0);
    c.set('a', 'A');
    expect(c.get('a')).to.equal(undefined);
  });
});
