import { expect } from 'chai';
import { MenuItem } from '../../module/domain/menu-item.js';

describe("WHMCS's menu item", () => {
  it('orders children by order, then by when they were added, and replaces a child of the same name', () => {
    const root = new MenuItem('root');
    root.addChild('b', { order: 20 });
    root.addChild('a', { order: 10 });
    root.addChild('c', { order: 20, label: 'first c' });
    root.addChild('c', { order: 5, label: 'second c' });
    expect(root.getChildren().map((c) => `${c.name}:${c.order}:${c.label}`)).to.deep.equal(['c:5:second c', 'a:10:a', 'b:20:b']);
  });

  it("records a handler's changes as the operations the bridge replays, and nothing for items WHMCS already had", () => {
    const { root, ops } = MenuItem.recording();
    const existing = root.adopt('overview', { label: 'Overview', order: 10 });
    root.addChild('usage', { label: 'Bandwidth', order: 50, uri: '', badge: '' }).setBodyHtml('<p>2.6 TiB of 2 TiB</p>').setExtra('color', 'blue');
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
});
