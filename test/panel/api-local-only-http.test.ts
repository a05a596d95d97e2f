import { expect } from 'chai';
import { describeEachEngine } from '../support/engines.js';
import { needPhp, phpBuildQuery } from './php-cli.js';
import { buildPanel, serveApi, type PanelFixture, type ServedApi } from './support.js';

/**
 * SetConfigurationValue is WHMCS's "via the local API only" command
 * (developers.whmcs.com/api-reference/setconfigurationvalue): over /includes/api.php it answers
 * "API Command Restricted to Internal API" (the message a public Node WHMCS client's test expects
 * there) and changes nothing; through localAPI() it sets the value. Bodies from php-cli's
 * http_build_query, on 127.0.0.1.
 */
describeEachEngine('API: commands for the local API only', ({ db }) => {
  let f: PanelFixture;
  let served: ServedApi;

  beforeEach(async function () {
    needPhp(this);
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
    served = await serveApi(f);
  });
  afterEach(async () => {
    await served?.close();
  });

  const post = async (params: Record<string, string>): Promise<Record<string, unknown>> => {
    const body = phpBuildQuery({
      ...params,
      identifier: served.identifier,
      secret: served.secret,
      responsetype: 'json',
    });
    const res = await fetch(`${served.url}includes/api.php`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body,
    });
    expect(res.status).to.equal(200);
    return (await res.json()) as Record<string, unknown>;
  };
  const setting = async (name: string) =>
    (await post({ action: 'GetConfigurationValue', setting: name })).value;

  it('refuses SetConfigurationValue over HTTP in any case of its name and leaves the setting as it was', async () => {
    // the panel's default: renewal invoices 14 days before the due date, as WHMCS's
    expect(await setting('CreateInvoiceDaysBefore')).to.equal('14');
    for (const action of ['SetConfigurationValue', 'setconfigurationvalue']) {
      expect(await post({ action, setting: 'CreateInvoiceDaysBefore', value: '0' })).to.deep.equal({
        result: 'error',
        message: 'API Command Restricted to Internal API',
      });
    }
    expect(await setting('CreateInvoiceDaysBefore')).to.equal('14');
  });

  it('sets the value through the local API, which the External API then reads back', async () => {
    await f.panel.api.call('SetConfigurationValue', { setting: 'CreateInvoiceDaysBefore', value: '0' });
    expect(await setting('CreateInvoiceDaysBefore')).to.equal('0');
  });
});
