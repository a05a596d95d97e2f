import { expect } from 'chai';
import { pageHostOf, uiFor } from '../../module/web/page-host.js';

/**
 * What a host (the WHMCS bridge) says about itself goes into the page's attributes: where the
 * stylesheet and script are, and a form field. Anything that could point elsewhere or leave the
 * attribute counts as not said.
 */
describe("a host's word on itself (page-host)", () => {
  it("takes WHMCS's addon folder, its form token and host downloads", () => {
    const h = pageHostOf({
      assets: { base: '../modules/addons/overusage/assets', version: '0.1.0' },
      csrf: { name: 'token', value: '0123456789abcdef0123456789abcdef01234567' },
      downloads: 'host',
    });
    expect(h).to.deep.equal({
      assets: { base: '../modules/addons/overusage/assets', version: '0.1.0' },
      csrf: { name: 'token', value: '0123456789abcdef0123456789abcdef01234567' },
      downloads: 'host',
    });
    expect(uiFor(h.assets, '/overusage/assets')).to.deep.equal({
      styles: ['../modules/addons/overusage/assets/overusage.css?v=0.1.0'],
      script: '../modules/addons/overusage/assets/overusage.js?v=0.1.0',
    });
  });

  it('refuses assets elsewhere than a plain relative folder, and a form field that could break out of its attribute', () => {
    for (const base of [
      'https://evil.example/x',
      '//evil.example/x',
      '/modules/addons',
      'modules/../../etc',
      'a/../b',
      'javascript:alert(1)',
      'a"onload="x',
      '',
      'a//b',
    ]) {
      expect(pageHostOf({ assets: { base, version: '1' } }).assets, base).to.equal(null);
    }
    expect(pageHostOf({ assets: { base: 'modules/x', version: '1"><script>' } }).assets).to.equal(null);
    for (const csrf of [
      { name: 'token', value: 'short' },
      { name: 'token', value: `${'a'.repeat(20)}"x` },
      { name: 'to ken', value: 'a'.repeat(40) },
      'token',
    ]) {
      expect(pageHostOf({ csrf }).csrf, JSON.stringify(csrf)).to.equal(null);
    }
    expect(pageHostOf({ downloads: 'yes' }).downloads).to.equal('api');
  });

  it("without a host's word, the module's own files, with the page stylesheet for a host without Bootstrap", () => {
    expect(uiFor(null, '/overusage/assets')).to.deep.equal({
      styles: ['/overusage/assets/overusage.css', '/overusage/assets/overusage-page.css'],
      script: '/overusage/assets/overusage.js',
    });
  });
});
