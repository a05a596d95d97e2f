import path from 'node:path';
import ejs from 'ejs';
import { expect } from 'chai';
import { part } from '../../module/web/admin-tab.js';

const VIEWS = path.resolve(import.meta.dirname, '..', '..', 'views');

/** The partial as a page's include() renders it: through a template of one line that includes it. */
const included = (name: string, data: Record<string, unknown>) =>
  ejs.render(
    `<%- include(${JSON.stringify(name)}, data) %>`,
    { data },
    {
      filename: path.join(VIEWS, 'admin', 'tab.ejs'),
      root: VIEWS,
    },
  );

describe("the admin tab's row partials, called as compiled templates", () => {
  const tricky = `Ann "O'Brien" <b>&amp;</b> Co`;
  for (const [name, data] of [
    ['/admin/_client-ref', { id: 7, name: tricky, href: '/c?id=7&x="1"' }],
    ['/admin/_client-ref', { id: 8, name: null, href: null }],
    ['/admin/_service-ref', { id: 9, name: tricky, href: null }],
    ['/partials/_state', { state: 'being resolved <upheld>', label: tricky, kind: 'label' }],
    ['/partials/_state', { state: 'open', label: 'open', kind: 'badge' }],
  ] as const) {
    it(`renders ${name} as include() does, escaped the same (${JSON.stringify(data.id ?? data.state)})`, () => {
      const out = part(name, { ...data });
      expect(out).to.equal(included(name, { ...data }));
      expect(out).not.to.include('<b>');
    });
  }

  it('renders data again, not a kept HTML, when any part of it differs, however the texts are cut', () => {
    const a = part('/partials/_state', { state: 'open', label: 'a', kind: 'label' });
    expect(part('/partials/_state', { state: 'open', label: 'a', kind: 'label' })).to.equal(a);
    // the same characters end to end, cut elsewhere
    const b = part('/partials/_state', { state: 'open', label: 'a|5:kind=s5:', kind: 'badge' });
    expect(b).to.include('>a|5:kind=s5:</span>').and.to.include('badge-warning');
    const n = part('/admin/_client-ref', { id: 7, name: null, href: null });
    const u = part('/admin/_client-ref', { id: 7, name: 'null', href: null });
    expect([n, u]).to.deep.equal([
      '<span data-client-ref="7">client #7</span>\n',
      '<span data-client-ref="7">null</span> <span class="ou-id ou-muted text-muted">#7</span>\n',
    ]);
    // data the key cannot say exactly (undefined, booleans, objects) is rendered every time
    expect(part('/admin/_client-ref', { id: 7, name: undefined, href: false })).to.equal(n);
  });

  it('sees only the data it is given: a partial asking for a local it was not given fails', () => {
    expect(() => part('/admin/_client-ref', { id: 7, name: 'Ann' })).to.throw(/href is not defined/);
  });

  it('renders only the partials of the views folder', () => {
    for (const name of ['/admin/../../package', '/admin/tab', 'admin/_client-ref', '/etc/_passwd'])
      expect(() => part(name, {}), name).to.throw(/no partial/);
  });
});
