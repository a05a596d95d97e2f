import crypto from 'node:crypto';
import { ModuleError } from '../domain/errors.js';

/**
 * Seals secrets (SolusVM keys and tokens) before they reach the database: AES-256-GCM with a random
 * IV, so a stolen table reveals nothing without the module's key, and tampering is detected.
 * Format: "v1.<iv>.<tag>.<ciphertext>", base64url parts.
 */
export interface SecretBox {
  seal(plain: string): string;
  open(sealed: string): string;
}

export function parseSecretKey(text: string): Buffer {
  const t = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(t) ? Buffer.from(t, 'hex') : Buffer.from(t, 'base64');
  if (key.length !== 32) {
    throw new ModuleError(
      'CONFIG',
      'the secret key must be 32 bytes, written as 64 hex digits or base64 (generate one with: openssl rand -hex 32)',
    );
  }
  return key;
}

export function createSecretBox(key: Buffer): SecretBox {
  if (key.length !== 32) throw new ModuleError('CONFIG', 'the secret key must be 32 bytes');
  return {
    seal(plain) {
      const iv = crypto.randomBytes(12);
      const cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
      const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
      return [
        'v1',
        iv.toString('base64url'),
        cipher.getAuthTag().toString('base64url'),
        ct.toString('base64url'),
      ].join('.');
    },
    open(sealed) {
      const [v, iv, tag, ct] = sealed.split('.');
      if (v !== 'v1' || !iv || !tag || ct === undefined)
        throw new ModuleError('CONFIG', 'a stored secret is not in a known format');
      try {
        const decipher = crypto.createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString(
          'utf8',
        );
      } catch {
        throw new ModuleError(
          'CONFIG',
          'a stored secret cannot be opened: the secret key differs from the one it was sealed with',
        );
      }
    },
  };
}
