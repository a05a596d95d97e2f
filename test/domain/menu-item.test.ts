import { expect } from 'chai';
import { MenuItem, type MenuOp } from '../../module/domain/menu-item.js';

describe("WHMCS's menu item", () => {
  it('orders children by order, then by when they were added, and replaces a child of the same name', () => {
    const root = new MenuItem('root');
    root.addChild('b', { order: 20 });
    root.addChild('a', { order: 10 });
    root.addChild('c', { order: 20, label: 'first c' });
    root.addChild('c', { order: 5, label: 'second c' });
    expect(root.getChildren().map((c) => `${c.name}:${c.order}:${c.label}`)).to.deep.equal([
      'c:5:second c',
      'a:10:a',
      'b:20:b',
    ]);
  });

  it("records a handler's changes as the operations the bridge replays, and nothing for items WHMCS already had", () => {
    const { root, ops } = MenuItem.recording();
    const existing = root.adopt('overview', { label: 'Overview', order: 10 });
    root
      .addChild('usage', { label: 'Bandwidth', order: 50, uri: '', badge: '' })
      .setBodyHtml('<p>2.6 TiB of 2 TiB</p>')
      .setExtra('color', 'blue');
    existing.setOrder(Number.NaN).setLabel('Your overview');
    root.removeChild('overview');
    expect(ops).to.deep.equal([
      { op: 'add', path: ['usage'], options: { label: 'Bandwidth', order: 50 } },
      { op: 'set', path: ['usage'], field: 'bodyHtml', value: '<p>2.6 TiB of 2 TiB</p>' },
      { op: 'extra', path: ['usage'], key: 'color', value: 'blue' },
      { op: 'set', path: ['overview'], field: 'label', value: 'Your overview' },
      { op: 'remove', path: ['overview'] },
    ]);
  });

  it('records nothing on the reference panel, where the items themselves are rendered', () => {
    const root = new MenuItem('root');
    root.addChild('usage').setLabel('Bandwidth');
    expect(root.getChild('usage')!.getLabel()).to.equal('Bandwidth');
    expect((root as unknown as { ops: unknown }).ops).to.equal(null);
  });

  it('starts an item from its options, the label defaulting to its name and a non-number order to 0', () => {
    const bare = new MenuItem('usage');
    expect([
      bare.getName(),
      bare.getLabel(),
      bare.getUri(),
      bare.getOrder(),
      bare.getBodyHtml(),
      bare.getFooterHtml(),
      bare.getExtra('color'),
    ]).to.deep.equal(['usage', 'usage', '', 0, '', '', null]);
    expect([bare.icon, bare.badge, bare.hasChildren()]).to.deep.equal(['', '', false]);
    const full = new MenuItem('usage', {
      label: 'Bandwidth',
      uri: '/usage',
      order: 50,
      icon: 'fa-chart',
      badge: '82%',
      bodyHtml: '<p>b</p>',
      footerHtml: '<p>f</p>',
      extras: { color: 'blue' },
    });
    expect([
      full.getLabel(),
      full.getUri(),
      full.getOrder(),
      full.icon,
      full.badge,
      full.getBodyHtml(),
      full.getFooterHtml(),
      full.getExtra('color'),
    ]).to.deep.equal(['Bandwidth', '/usage', 50, 'fa-chart', '82%', '<p>b</p>', '<p>f</p>', 'blue']);
    expect(new MenuItem('x', { order: Number.POSITIVE_INFINITY }).getOrder()).to.equal(0);
  });

  it('changes every field, records each change on its path, and ignores an order that is not a number', () => {
    const { root, ops } = MenuItem.recording();
    const row = root
      .addChild('usage', { label: 'Bandwidth', order: 50, extras: {} })
      .addChild('row', { label: 'VPS 1', order: 1 });
    expect(root.hasChildren()).to.equal(true);
    // empty extras are left out of the operation; the row's path goes through its panel
    expect(ops).to.deep.equal([
      { op: 'add', path: ['usage'], options: { label: 'Bandwidth', order: 50 } },
      { op: 'add', path: ['usage', 'row'], options: { label: 'VPS 1', order: 1 } },
    ]);
    ops.length = 0;
    row
      .setLabel('VPS 2')
      .setUri('/vps/2')
      .setOrder(2)
      .setOrder(Number.NaN)
      .setIcon('fa-server')
      .setBadge('3')
      .setBodyHtml('<b>2</b>')
      .setFooterHtml('<i>f</i>')
      .setExtra('btn-text', 'Details');
    expect([
      row.getLabel(),
      row.getUri(),
      row.getOrder(),
      row.icon,
      row.badge,
      row.getBodyHtml(),
      row.getFooterHtml(),
      row.getExtra('btn-text'),
    ]).to.deep.equal(['VPS 2', '/vps/2', 2, 'fa-server', '3', '<b>2</b>', '<i>f</i>', 'Details']);
    const path = ['usage', 'row'];
    expect(ops).to.deep.equal([
      { op: 'set', path, field: 'label', value: 'VPS 2' },
      { op: 'set', path, field: 'uri', value: '/vps/2' },
      { op: 'set', path, field: 'order', value: 2 },
      { op: 'set', path, field: 'icon', value: 'fa-server' },
      { op: 'set', path, field: 'badge', value: '3' },
      { op: 'set', path, field: 'bodyHtml', value: '<b>2</b>' },
      { op: 'set', path, field: 'footerHtml', value: '<i>f</i>' },
      { op: 'extra', path, key: 'btn-text', value: 'Details' },
    ]);
  });

  it('adds an item made elsewhere with all its fields, and removes a child given as an item', () => {
    const made = new MenuItem('usage', {
      label: 'Bandwidth',
      uri: '/u',
      order: 7,
      icon: 'i',
      badge: 'b',
      bodyHtml: '<p>x</p>',
      footerHtml: '<p>y</p>',
      extras: { color: 'red' },
    });
    const { root, ops } = MenuItem.recording();
    root.addChild(made);
    expect(ops).to.deep.equal([
      {
        op: 'add',
        path: ['usage'],
        options: {
          label: 'Bandwidth',
          uri: '/u',
          order: 7,
          icon: 'i',
          badge: 'b',
          bodyHtml: '<p>x</p>',
          footerHtml: '<p>y</p>',
          extras: { color: 'red' },
        },
      },
    ]);
    root.removeChild(root.getChild('usage')!);
    expect(root.getChild('usage')).to.equal(null);
    expect(root.hasChildren()).to.equal(false);
    expect(ops[1]).to.deep.equal({ op: 'remove', path: ['usage'] });
    // on the reference panel the item itself becomes the child
    const plain = new MenuItem('root');
    expect(plain.addChild(made)).to.equal(made);
    expect(plain.getChildren()).to.deep.equal([made]);
  });

  it('keeps what a page is about for the hooks that build it, null for what it does not know', () => {
    const root = new MenuItem('root').setContext('client', { id: 12 });
    expect(root.context('client')).to.deep.equal({ id: 12 });
    expect(root.context('invoice')).to.equal(null);
  });

  // survivors of the mutation run (issue 13)
  it('keeps children of the same order in the order they were added', () => {
    const root = new MenuItem('root');
    for (const name of ['first', 'second', 'third']) root.addChild(name, { order: 50 });
    root.addChild('top', { order: 10 });
    expect(root.getChildren().map((c) => c.name)).to.deep.equal(['top', 'first', 'second', 'third']);
    // a child replaced is added anew: after the others of its order, though the map keeps its old place
    root.addChild('first', { order: 50, label: 'First again' });
    expect(root.getChildren().map((c) => c.name)).to.deep.equal(['top', 'second', 'third', 'first']);
  });

  it("knows an adopted item as a child, and names a recording root 'root' unless told", () => {
    const { root, ops } = MenuItem.recording();
    expect(root.getName()).to.equal('root');
    expect(MenuItem.recording('sidebar').root.getName()).to.equal('sidebar');
    root.adopt('overview', { label: 'Overview', order: 10 });
    expect(root.getChild('overview')!.getLabel()).to.equal('Overview');
    expect(root.getChildren().map((c) => c.name)).to.deep.equal(['overview']);
    expect(ops).to.deep.equal([]);
  });

  it('leaves out options given as undefined, as it does empty ones', () => {
    const { root, ops } = MenuItem.recording();
    root.addChild('usage', { label: 'Bandwidth', uri: undefined, icon: undefined, order: undefined });
    expect(ops).to.deep.equal([{ op: 'add', path: ['usage'], options: { label: 'Bandwidth' } }]);
    expect(root.getChild('usage')!.getUri()).to.equal('');
  });

  it('records paths from a root given only its operations list', () => {
    const ops: MenuOp[] = [];
    new MenuItem('root', {}, ops).addChild('usage').setLabel('Bandwidth');
    expect(ops).to.deep.equal([
      { op: 'add', path: ['usage'], options: {} },
      { op: 'set', path: ['usage'], field: 'label', value: 'Bandwidth' },
    ]);
  });

  it('removes a child and sets an extra on the reference panel too, where nothing is recorded', () => {
    const root = new MenuItem('root');
    root.addChild('usage').setExtra('color', 'blue');
    expect(root.getChild('usage')!.getExtra('color')).to.equal('blue');
    root.removeChild('usage');
    expect(root.hasChildren()).to.equal(false);
  });
});
