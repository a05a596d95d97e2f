import { expect } from 'chai';
import { SolusVmError } from '../../module/adapters/solusvm-types.js';
import {
  parseInfoAll,
  parseNodeList,
  parseNodeVirtualServers,
  parsePacked,
  parseStatusState,
  parseV1Body,
  parseV1State,
  repairXml,
} from '../../module/adapters/solusvm-v1-parse.js';

function failure(fn: () => unknown): SolusVmError {
  try {
    fn();
  } catch (e) {
    expect(e).to.be.instanceOf(SolusVmError);
    return e as SolusVmError;
  }
  throw new Error('expected a SolusVmError');
}

const INFOALL_XML = `<status>success</status>
<statusmsg></statusmsg>
<state>online</state>
<node>kvm-node-03</node>
<mainipaddress>198.51.100.24</mainipaddress>
<ipaddresses>198.51.100.24,198.51.100.25</ipaddresses>
<type>kvm</type>
<hdd>53687091200,0,53687091200,0</hdd>
<memory>2147483648,0,2147483648,0</memory>
<bandwidth>1099511627776,386547056640,712964571136,35</bandwidth>
<internalips></internalips>`;

const INFOALL_JSON = `{"status":"success","statusmsg":"","state":"online","node":"kvm-node-03",
 "mainipaddress":"198.51.100.24","ipaddresses":"198.51.100.24,198.51.100.25","type":"kvm",
 "hdd":"53687091200,0,53687091200,0","memory":"2147483648,0,2147483648,0",
 "bandwidth":"1099511627776,386547056640,712964571136,35","internalips":""}`;

describe('SolusVM 1 answer parsing', () => {
  describe('XML fragments', () => {
    it('reads a rootless fragment of sibling elements', () => {
      const r = parseV1Body(INFOALL_XML);
      expect(r.format).to.equal('xml');
      expect(r.status).to.equal('success');
      expect(r.fields['node']).to.equal('kvm-node-03');
    });

    it("reads the same fragment after a leading <?xml version='1.0'?> declaration", () => {
      const r = parseV1Body(`<?xml version='1.0'?>\n${INFOALL_XML}`);
      expect(r.fields['mainipaddress']).to.equal('198.51.100.24');
    });

    it('turns an empty element into an empty string, not a missing field', () => {
      const r = parseV1Body('<status>success</status><statusmsg></statusmsg><internalips/>');
      expect(r.statusmsg).to.equal('');
      expect(r.fields['internalips']).to.equal('');
    });

    it('ignores whitespace, newlines and junk text such as a stray "." between elements', () => {
      const r = parseV1Body(
        '  \r\n<status>success</status>.\n\t<statusmsg>Virtual server suspended</statusmsg>.\n\n',
      );
      expect(r.statusmsg).to.equal('Virtual server suspended');
      expect(r.fields).not.to.have.property('#text');
    });

    it('tolerates a closing tag that closes nothing, such as </sessionexpire>', () => {
      const r = parseV1Body('<status>success</status></sessionexpire><statusmsg>ok</statusmsg>');
      expect(r.statusmsg).to.equal('ok');
      expect(repairXml('<a>1</a></b><c>2</c>')).to.equal('<a>1</a><c>2</c>');
    });

    it('decodes entities and tolerates a bare ampersand in text', () => {
      expect(parseV1Body('<status>success</status><statusmsg>a &amp; b</statusmsg>').statusmsg).to.equal(
        'a & b',
      );
      expect(parseV1Body('<status>success</status><statusmsg>a & b</statusmsg>').statusmsg).to.equal('a & b');
    });

    it('refuses XML that is malformed beyond a stray closing tag as bad_response', () => {
      const e = failure(() => parseV1Body('<status>success</status><bandwidth>1,2,3,4'));
      expect(e.kind).to.equal('bad_response');
      expect(e.code).to.equal('MALFORMED_XML');
      // in words an operator can act on, not the XML parser's ("Tag '</root' is an invalid name")
      expect(e.message).to.equal(
        "the master's answer was cut off before its end (42 bytes arrived): the connection or a proxy broke it, or PHP on the master stopped; the read is tried again on the next run",
      );
    });

    it('refuses XML carrying a DOCTYPE, which SolusVM never sends', () => {
      const e = failure(() =>
        parseV1Body('<!DOCTYPE r [<!ENTITY a "aaaa">]><status>success</status><statusmsg>&a;</statusmsg>'),
      );
      expect(e.kind).to.equal('bad_response');
    });

    it('reads nested lists of virtual servers', () => {
      const r = parseV1Body(`<?xml version='1.0'?>
<status>success</status><statusmsg></statusmsg>
<virtualservers>
 <virtualserver><vserverid>101</vserverid><ctid-xid>kvm101</ctid-xid><clientid>7</clientid><hostname>a.example.net</hostname></virtualserver>
 <virtualserver><vserverid>102</vserverid><clientid>8</clientid><hostname>b.example.net</hostname></virtualserver>
</virtualservers>`);
      const list = parseNodeVirtualServers(r);
      expect(list.map((s) => [s.vserverid, s.ctidXid, s.clientid, s.hostname])).to.deep.equal([
        ['101', 'kvm101', '7', 'a.example.net'],
        ['102', null, '8', 'b.example.net'],
      ]);
    });

    it('reads a nested list of one, and an empty list', () => {
      const one = parseV1Body(
        '<status>success</status><virtualservers><virtualserver><vserverid>5</vserverid></virtualserver></virtualservers>',
      );
      expect(parseNodeVirtualServers(one).map((s) => s.vserverid)).to.deep.equal(['5']);
      const none = parseV1Body(
        '<status>success</status><statusmsg></statusmsg><virtualservers></virtualservers>',
      );
      expect(parseNodeVirtualServers(none)).to.deep.equal([]);
    });
  });

  describe('JSON', () => {
    it('reads a flat JSON object', () => {
      const r = parseV1Body(INFOALL_JSON);
      expect(r.format).to.equal('json');
      expect(parseInfoAll(r).bandwidth.usedBytes).to.equal(386547056640n);
    });

    it('accepts numbers as JSON numbers or strings, keeping values above 2^53 exact', () => {
      const r = parseV1Body(
        '{"status":"success","memorylimit":415834112,"freememory":"3572736","big":9007199254740993}',
      );
      expect(r.fields['memorylimit']).to.equal('415834112');
      expect(r.fields['freememory']).to.equal('3572736');
      expect(r.fields['big']).to.equal('9007199254740993');
    });

    it('reads JSON lists of virtual servers, empty ones, and PHP objects keyed by index', () => {
      const list = parseV1Body(`{"status":"success","statusmsg":"","virtualservers":[
 {"vserverid":"101","ctid-xid":"kvm101","clientid":"7","ipaddress":"198.51.100.24","hostname":"vps101.example.net",
  "template":"debian-12-x86_64","hdd":"53687091200","memory":"2147483648","swap-burst":"0","type":"kvm","mac":"52:54:00:aa:bb:01"},
 {"vserverid":102,"clientid":8}]}`);
      expect(parseNodeVirtualServers(list).map((s) => [s.vserverid, s.clientid, s.type])).to.deep.equal([
        ['101', '7', 'kvm'],
        ['102', '8', null],
      ]);
      expect(parseNodeVirtualServers(parseV1Body('{"status":"success","virtualservers":[]}'))).to.deep.equal(
        [],
      );
      const keyed = parseV1Body(
        '{"status":"success","virtualservers":{"0":{"vserverid":"1"},"3":{"vserverid":"4"}}}',
      );
      expect(parseNodeVirtualServers(keyed).map((s) => s.vserverid)).to.deep.equal(['1', '4']);
    });

    it('refuses malformed JSON as bad_response', () => {
      expect(failure(() => parseV1Body('{"status":"success",')).kind).to.equal('bad_response');
    });
  });

  describe('errors', () => {
    it('maps the bare text "Invalid id or key" to auth', () => {
      const e = failure(() => parseV1Body('Invalid id or key'));
      expect(e.kind).to.equal('auth');
      expect(e.message).to.contain('Configuration > API Access');
    });

    it('maps the bare text "Invalid ipaddress" to ip_refused, saying where to allow the IP', () => {
      const e = failure(() => parseV1Body('Invalid ipaddress\n'));
      expect(e.kind).to.equal('ip_refused');
      expect(e.message).to.contain(
        "add this server's IP to the API user's allowed IPs in SolusVM > Configuration > API Access",
      );
    });

    it('maps the bare texts "Virtual server not found" and "Node not found" to not_found', () => {
      expect(failure(() => parseV1Body('Virtual server not found')).kind).to.equal('not_found');
      expect(failure(() => parseV1Body('Node not found')).kind).to.equal('not_found');
    });

    it('refuses other bare text as bad_response', () => {
      const e = failure(() => parseV1Body('Something odd happened'));
      expect(e.kind).to.equal('bad_response');
      expect(e.message).to.contain('Something odd happened');
    });

    it('says an HTML page came back, probably htpasswd, a proxy or a login page', () => {
      for (const html of [
        '<!DOCTYPE html><html><body>Login</body></html>',
        '<html><head><title>401 Authorization Required</title></head></html>',
      ]) {
        const e = failure(() => parseV1Body(html, { httpStatus: 200 }));
        expect(e.kind).to.equal('bad_response');
        expect(e.code).to.equal('HTML_PAGE');
        expect(e.message).to.match(/HTML page came back.*htpasswd.*proxy.*login page/);
      }
    });

    it('maps status=error to app_error with the message, or not_found when the message says so', () => {
      const e = failure(() =>
        parseV1Body('<status>error</status><statusmsg>Virtual server is already suspended</statusmsg>'),
      );
      expect(e.kind).to.equal('app_error');
      expect(e.message).to.equal('SolusVM answered an error: Virtual server is already suspended');
      expect(
        failure(() => parseV1Body('<status>error</status><statusmsg>Virtual server not found</statusmsg>'))
          .kind,
      ).to.equal('not_found');
      expect(failure(() => parseV1Body('{"status":"error","statusmsg":"ERROR MESSAGE"}')).kind).to.equal(
        'app_error',
      );
    });

    it('never treats an answer without status as success', () => {
      const e = failure(() => parseV1Body('<statusmsg></statusmsg><bandwidth>1,0,1,0</bandwidth>'));
      expect(e.kind).to.equal('bad_response');
      expect(e.code).to.equal('NO_STATUS');
      expect(failure(() => parseV1Body('{"bandwidth":"1,0,1,0"}')).code).to.equal('NO_STATUS');
      expect(failure(() => parseV1Body('')).kind).to.equal('bad_response');
    });

    it('keeps credentials out of error snippets', () => {
      const scrub = (t: string): string => t.replaceAll('sekrit', '***');
      const e = failure(() => parseV1Body('<html>key=sekrit</html>', { scrub }));
      expect(e.snippet).to.equal('<html>key=***</html>');
    });
  });

  describe('traffic fields', () => {
    it('reads infoall the same from XML and JSON', () => {
      const fromXml = parseInfoAll(parseV1Body(INFOALL_XML));
      const fromJson = parseInfoAll(parseV1Body(INFOALL_JSON));
      for (const info of [fromXml, fromJson]) {
        expect(info.state).to.equal('online');
        expect(info.bandwidth).to.deep.include({
          totalBytes: 1099511627776n,
          usedBytes: 386547056640n,
          freeBytes: 712964571136n,
          percent: 35n,
          limitBytes: 1099511627776n,
        });
        expect(info.hdd?.totalBytes).to.equal(53687091200n);
        expect(info.ipAddresses).to.deep.equal(['198.51.100.24', '198.51.100.25']);
        expect(info.internalIps).to.deep.equal([]);
        expect(info.type).to.equal('kvm');
      }
    });

    it('reads the 2011 fixture with a stray "." and a 15000 GiB limit', () => {
      const info = parseInfoAll(
        parseV1Body(
          '<status>success</status>.\n<statusmsg></statusmsg>.\n<state>disabled</state>.\n<bandwidth>16106127360000,5370261749139,10735865610861,33</bandwidth>.',
        ),
      );
      expect(info.bandwidth.totalBytes).to.equal(15000n * 1024n ** 3n);
      expect(info.bandwidth.usedBytes).to.equal(5370261749139n);
      expect(info.state).to.equal('suspended');
    });

    it('keeps counters above 2^53 exact', () => {
      const info = parseInfoAll(
        parseV1Body('{"status":"success","bandwidth":"9007199254740993,9007199254740993,0,100"}'),
      );
      expect(info.bandwidth.usedBytes).to.equal(9007199254740993n);
    });

    it('allows a negative free and a percent over 100, taking used from the counter, not from percent', () => {
      const p = parsePacked('1099511627776,1209462790553,-109951162777,110', 'bandwidth');
      expect(p.usedBytes).to.equal(1209462790553n);
      expect(p.freeBytes).to.equal(-109951162777n);
      expect(p.percent).to.equal(110n);
      expect(p.limitBytes).to.equal(1099511627776n);
    });

    it('takes total 0 as no limit', () => {
      const p = parsePacked('0,5000,0,0', 'bandwidth');
      expect(p.limitBytes).to.equal(null);
      expect(p.usedBytes).to.equal(5000n);
    });

    it('refuses a missing or unreadable bandwidth rather than reading it as zero', () => {
      expect(
        failure(() => parseInfoAll(parseV1Body('<status>success</status><state>online</state>'))).kind,
      ).to.equal('bad_response');
      expect(
        failure(() => parseInfoAll(parseV1Body('<status>success</status><bandwidth></bandwidth>'))).kind,
      ).to.equal('bad_response');
      expect(failure(() => parsePacked('1.5e12,3,4,5', 'bandwidth')).kind).to.equal('bad_response');
      expect(failure(() => parsePacked('12345', 'bandwidth')).kind).to.equal('bad_response');
    });

    it('leaves an unreadable percent null, since nothing is computed from it', () => {
      expect(parsePacked('100,50,50,50.5', 'bandwidth').percent).to.equal(null);
    });

    it('maps online, offline and disabled (suspended), and anything else to unknown', () => {
      expect(parseV1State('online')).to.equal('online');
      expect(parseV1State('offline')).to.equal('offline');
      expect(parseV1State('disabled')).to.equal('suspended');
      expect(parseV1State('')).to.equal('unknown');
      expect(
        parseStatusState(parseV1Body('<status>success</status><statusmsg>disabled</statusmsg>')),
      ).to.equal('suspended');
      expect(parseStatusState(parseV1Body('{"status":"success","statusmsg":"online"}'))).to.equal('online');
    });

    it('reads comma-separated node lists, empty or not', () => {
      expect(parseNodeList(parseV1Body('<status>success</status><nodes>1,2,5</nodes>'))).to.deep.equal([
        '1',
        '2',
        '5',
      ]);
      expect(parseNodeList(parseV1Body('<status>success</status><nodes></nodes>'))).to.deep.equal([]);
      expect(parseNodeList(parseV1Body('{"status":"success","nodes":"node-a,node-b"}'))).to.deep.equal([
        'node-a',
        'node-b',
      ]);
    });
  });
});
