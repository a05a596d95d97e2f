import { expect } from 'chai';
import { escapeHtml } from '../../module/domain/html.js';

describe('escapeHtml', () => {
  it('turns the five characters that can end a text or an attribute into entities, and leaves the rest', () => {
    // & first would double-escape if done last: "&lt;" must come out as "&amp;lt;"
    expect(escapeHtml(`<a href="x" title='y'>Tom & Jerry &lt; €5</a>`)).to.equal(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Tom &amp; Jerry &amp;lt; €5&lt;/a&gt;',
    );
    expect(escapeHtml('Jan de Vries, 2,6 TiB')).to.equal('Jan de Vries, 2,6 TiB');
  });
});
