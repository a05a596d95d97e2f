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

  it('sees only the data it is given: a partial asking for a local it was not given fails', () => {
    expect(() => part('/admin/_client-ref', { id: 7, name: 'Ann' })).to.throw(/href is not defined/);
  });

  it('renders only the partials of the views folder', () => {
    for (const name of ['/admin/../../package', '/admin/tab', 'admin/_client-ref', '/etc/_passwd'])
      expect(() => part(name, {}), name).to.throw(/no partial/);
  });
});
