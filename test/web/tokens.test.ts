import crypto from 'node:crypto';
import { expect } from 'chai';
import { ModuleError } from '../../module/domain/errors.js';
import { createTokenSigner, deriveTokenKey, MAX_TOKEN_TTL_SECONDS } from '../../module/web/tokens.js';

const KEY = crypto.createHash('sha256').update('tokens test').digest();

describe('web tokens', () => {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const signer = createTokenSigner(KEY, () => now);
  const refused = (f: () => unknown, message: RegExp) => {
    try {
      f();
    } catch (err) {
      expect(err).to.be.instanceOf(ModuleError);
      expect((err as ModuleError).code).to.equal('UNAUTHORIZED');
      expect((err as Error).message).to.match(message);
      return;
    }
    expect.fail('the token was accepted');
  };

  it('names the subject, when it was issued, the expiry, its scope, who minted it, its session and a nonce, signed with HMAC-SHA256 under a key derived by HKDF', () => {
    const { token, expiresAt } = signer.issue({ type: 'client', id: 42 }, { ttlSeconds: 600 });
    const [prefix, type, id, iat, exp, scope, by, bound, nonce, mac] = token.split('.');
    expect([prefix, type, id, iat, exp, scope, by, bound]).to.deep.equal([
      'ou2',
      'c',
      '42',
      String(now),
      String(now / 1000 + 600),
      'f',
      '0',
      '-',
    ]);
    expect(expiresAt).to.equal(now / 1000 + 600);
    expect(Buffer.from(nonce!, 'base64url')).to.have.length(16);
    const key = Buffer.from(
      crypto.hkdfSync('sha256', KEY, Buffer.from('overusage'), Buffer.from('overusage web tokens v1'), 32),
    );
    expect(deriveTokenKey(KEY).equals(key)).to.equal(true);
    expect(mac).to.equal(
      crypto
        .createHmac('sha256', key)
        .update(token.slice(0, token.lastIndexOf('.')))
        .digest('base64url'),
    );
    expect(signer.verify(token)).to.deep.equal({
      type: 'client',
      id: 42,
      issuedAt: now,
      expiresAt: now / 1000 + 600,
      nonce,
      readOnly: false,
      scope: 'full',
      by: null,
      bound: null,
    });
    // two tokens for the same subject differ
    expect(signer.issue({ type: 'client', id: 42 }).token).to.not.equal(token);
    // minted by admin 7 for client 42, bound to the host's session: both in the signed part
    const minted = signer.issue({ type: 'client', id: 42 }, { by: 7, bound: 'h' }).token;
    expect(signer.verify(minted)).to.include({ by: 7, bound: 'h' });
    refused(() => signer.verify(minted.replace('.f.7.h.', '.f.0.h.')), /not valid/);
    refused(() => signer.verify(minted.replace('.f.7.h.', '.f.7.-.')), /not valid/);
  });

  it('marks a read-only or a tab token in its signed part, so it cannot be made a full one', () => {
    const { token } = signer.issue({ type: 'client', id: 42 }, { readOnly: true });
    expect(token.split('.')[5]).to.equal('r');
    expect(signer.verify(token)).to.include({ readOnly: true, scope: 'read' });
    refused(() => signer.verify(token.replace('.r.0.', '.f.0.')), /not valid/);
    const tab = signer.issue({ type: 'admin', id: 1 }, { scope: 'tab' }).token;
    expect(signer.verify(tab).scope).to.equal('tab');
    refused(() => signer.verify(tab.replace('.t.0.', '.f.0.')), /not valid/);
  });

  it('refuses malformed, changed, foreign and expired tokens', () => {
    const { token } = signer.issue({ type: 'admin', id: 1 }, { ttlSeconds: 60 });
    refused(() => signer.verify(''), /malformed/);
    refused(() => signer.verify(token + 'x'), /malformed/);
    refused(() => signer.verify(token.replace('ou2.a.1.', 'ou2.c.1.')), /not valid/);
    refused(() => signer.verify(token.replace('ou2.a.1.', 'ou2.a.2.')), /not valid/);
    refused(() => createTokenSigner(crypto.randomBytes(32), () => now).verify(token), /not valid/);
    now += 60_000;
    refused(() => signer.verify(token), /expired/);
    now -= 60_000;
  });

  it('refuses a token that would live longer than a day even when its MAC is good', () => {
    const future = createTokenSigner(KEY, () => now + 2 * MAX_TOKEN_TTL_SECONDS * 1000).issue(
      { type: 'admin', id: 1 },
      { ttlSeconds: 60 },
    ).token;
    refused(() => signer.verify(future), /longer than allowed/);
    expect(() => signer.issue({ type: 'admin', id: 1 }, { ttlSeconds: MAX_TOKEN_TTL_SECONDS + 1 })).to.throw(
      /1 second to/,
    );
    expect(() => signer.issue({ type: 'admin', id: 0 })).to.throw(/positive id/);
  });

  it('derives the CSRF field of a page from its token', () => {
    const v = signer.verify(signer.issue({ type: 'client', id: 7 }).token);
    const other = signer.verify(signer.issue({ type: 'client', id: 7 }).token);
    const csrf = signer.csrfFor(v);
    expect(signer.checkCsrf(v, csrf)).to.equal(true);
    expect(signer.checkCsrf(other, csrf)).to.equal(false);
    expect(signer.checkCsrf(v, undefined)).to.equal(false);
    expect(signer.checkCsrf(v, csrf.slice(0, -1) + (csrf.endsWith('A') ? 'B' : 'A'))).to.equal(false);
  });

  it('refuses a secret key shorter than 32 bytes', () => {
    expect(() => createTokenSigner(Buffer.alloc(16))).to.throw(/32 bytes/);
  });
});
