import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { setClientPassword } from '../../panel/web/passwords.js';
import { describeEachEngine } from '../support/engines.js';
import { requirePhp } from '../bridge/support.js';
import {
  buildPanel,
  seedStory,
  serveApi,
  ZONE,
  type PanelFixture,
  type ServedApi,
  type Story,
} from './support.js';
import { phpForm, phpOk, postForm } from './php-form.js';

const execFileAsync = promisify(execFile);

interface NvpAnswer {
  status: number;
  contentType: string;
  raw: string;
  /** what an old PHP client makes of it: explode(';'), then explode('=') on each non-empty pair */
  fields: Record<string, string>;
}

/**
 * The call made wholly by php-cli (http_build_query, curl) and its answer read as the older
 * public PHP clients read WHMCS's name=value text (queiroz/whmcs-api, forked as
 * mgufrone/whmcs-api: WhmcsApi::formatObject splits on ";" and "=").
 */
async function phpNvpCall(
  served: ServedApi,
  arrayLiteral: string,
  extra: Record<string, string> = {},
): Promise<NvpAnswer> {
  const code = `
    $extra = json_decode($argv[1], true);
    $ch = curl_init($argv[2]);
    curl_setopt_array($ch, [CURLOPT_POST => 1, CURLOPT_RETURNTRANSFER => 1, CURLOPT_TIMEOUT => 20, CURLOPT_POSTFIELDS => http_build_query($extra + ${arrayLiteral})]);
    $data = curl_exec($ch);
    if ($data === false) { fwrite(STDERR, curl_error($ch)); exit(1); }
    $fields = [];
    foreach (explode(';', $data) as $pair) if (!empty($pair)) { $kv = explode('=', $pair); $fields[$kv[0]] = $kv[1] ?? ''; }
    echo json_encode(['status' => curl_getinfo($ch, CURLINFO_RESPONSE_CODE), 'contentType' => (string) curl_getinfo($ch, CURLINFO_CONTENT_TYPE), 'raw' => $data, 'fields' => (object) $fields]);`;
  const { stdout } = await execFileAsync(
    'php',
    [
      '-r',
      code,
      '--',
      JSON.stringify({ identifier: served.identifier, secret: served.secret, responsetype: 'nvp', ...extra }),
      `${served.url}includes/api.php`,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  );
  return JSON.parse(stdout) as NvpAnswer;
}

/**
 * responsetype=nvp, the third type WHMCS documents ("NVP (Deprecated)",
 * developers.whmcs.com/api/response-types/), and the answer without responsetype. The story:
 * 20 January 2025; Ann's VPS (19.95 a month, due 1 February) is on renewal invoice #1.
 */
describeEachEngine('API over HTTP: responsetype=nvp and no responsetype', ({ db }) => {
  let f: PanelFixture;
  let story: Story;
  let served: ServedApi;

  before(async function () {
    requirePhp(this);
    f = await buildPanel(db().knex, { start: '2025-01-20T09:30:00Z' });
    story = await seedStory(f);
    served = await serveApi(f);
    await setClientPassword(f.knex, story.clientId, 'correct horse', f.clock.now(), ZONE);
    await phpOk(served, `['action' => 'GenInvoices', 'clientid' => ${story.clientId}]`);
  });
  after(async () => {
    await served?.close();
  });

  it('answers a flat answer as name=value; pairs that an old PHP client splits back into its fields', async () => {
    const a = await phpNvpCall(
      served,
      `['action' => 'ValidateLogin', 'email' => 'ann@example.net', 'password2' => 'correct horse']`,
    );
    expect(a.status).to.equal(200);
    expect(a.contentType).to.match(/^text\/plain/);
    // userid 1; twoFactorEnabled false is PHP's empty text; the session token is 40 hex digits
    expect(a.raw).to.match(/^result=success;userid=1;passwordhash=[0-9a-f]{40};twoFactorEnabled=;$/);
    expect(a.fields).to.include({ result: 'success', userid: '1', twoFactorEnabled: '' });
    const value = await phpNvpCall(
      served,
      `['action' => 'GetConfigurationValue', 'setting' => 'InvalidLoginBanLength']`,
    );
    expect(value.raw).to.equal('result=success;setting=InvalidLoginBanLength;value=15;');
  });

  it('leaves lists and blocks out (they do not fit name=value pairs) and answers errors the same way', async () => {
    const inv = await phpNvpCall(served, `['action' => 'GetInvoice', 'invoiceid' => 1]`);
    // the invoice's flat fields are there (19.95 due on 1 February), its items and transactions are not
    expect(inv.fields).to.include({
      result: 'success',
      invoiceid: '1',
      status: 'Unpaid',
      duedate: '2025-02-01',
      total: '19.95',
    });
    expect(inv.raw).to.not.include('items').and.not.include('[object');
    const missing = await phpNvpCall(served, `['action' => 'GetInvoice', 'invoiceid' => 99]`);
    expect(missing.raw).to.equal('result=error;message=Invoice ID Not Found;');
    const denied = await phpNvpCall(served, `['action' => 'GetInvoice', 'invoiceid' => 1]`, {
      secret: 'wrong',
    });
    expect([denied.status, denied.raw]).to.deep.equal([403, 'result=error;message=Authentication Failed;']);
    // NVP in any case is NVP
    expect(
      (await phpNvpCall(served, `['action' => 'GetInvoice', 'invoiceid' => 99]`, { responsetype: 'NVP' }))
        .raw,
    ).to.equal('result=error;message=Invoice ID Not Found;');
  });

  it('without responsetype answers JSON: WHMCS documents no default, and JSON is its recommended type', async () => {
    const plain = await postForm(
      served,
      phpForm(`['action' => 'GetInvoice', 'invoiceid' => 1]`, {
        identifier: served.identifier,
        secret: served.secret,
      }),
    );
    expect(plain.status).to.equal(200);
    expect(plain.body).to.include({ result: 'success', invoiceid: '1', total: '19.95' });
  });
});
