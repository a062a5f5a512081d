import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashPassword, verifyPassword } from './passwords.ts';

describe('room passwords (scrypt)', () => {
  it('hashes to scrypt$N$r$p$salt$hash with a fresh salt each time', async () => {
    const a = await hashPassword('s3cret');
    const b = await hashPassword('s3cret');
    assert.match(a, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
    assert.ok(!a.includes('s3cret'));
  });

  it('verifies the right password and rejects others', async () => {
    const hash = await hashPassword('correct horse');
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('correct hors', hash), false);
    assert.equal(await verifyPassword('', hash), false);
  });

  it('treats canonically equivalent Unicode the same', async () => {
    const hash = await hashPassword('caf\u00e9');
    assert.equal(await verifyPassword('cafe\u0301', hash), true);
  });

  it('returns false (never throws) for malformed or hostile hashes', async () => {
    const good = await hashPassword('x');
    const parts = good.split('$');
    const variants = [
      '',
      'not-a-hash',
      '$2b$12$abcdefghijklmnopqrstuvabcdefghijklmnopqrstuvwxyz12345', // bcrypt
      ['scrypt', '1000', ...parts.slice(2)].join('$'), // N not a power of two
      ['scrypt', String(1 << 24), ...parts.slice(2)].join('$'), // too expensive
      ['scrypt', ...parts.slice(1, 4), 'c2FsdA', parts[5]].join('$'), // salt too short
      ['scrypt', ...parts.slice(1, 5), 'YQ'].join('$'), // hash too short
    ];
    for (const v of variants) assert.equal(await verifyPassword('x', v), false, v);
  });
});
