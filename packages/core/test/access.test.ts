import { describe, expect, it } from 'vitest';
import { bearerToken, isLoopbackAddress, tokenMatches } from '../src/access.js';

describe('isLoopbackAddress', () => {
  it.each(['127.0.0.1', '127.255.0.9', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', '::FFFF:127.1.2.3'])('accepts %s', (address) => {
    expect(isLoopbackAddress(address)).toBe(true);
  });

  it.each(['10.0.0.1', '192.168.1.5', '128.0.0.1', '::ffff:10.0.0.1', '::2', 'fe80::1', '1::1', '', 'localhost', '127.0.0.1.evil', undefined])(
    'refuses %s',
    (address) => {
      expect(isLoopbackAddress(address)).toBe(false);
    },
  );
});

describe('bearerToken', () => {
  it.each([
    ['Bearer s3cret', 's3cret'],
    ['bearer s3cret', 's3cret'],
    ['Bearer   s3cret  ', 's3cret'],
  ])('%j → %j', (header, token) => {
    expect(bearerToken(header)).toBe(token);
  });

  it.each([undefined, '', 'Bearer', 'Bearer ', 'Basic czNjcmV0', 'Bearer two words', 's3cret'])('%j → undefined', (header) => {
    expect(bearerToken(header)).toBeUndefined();
  });
});

describe('tokenMatches', () => {
  it('compares exactly, whatever the lengths', () => {
    expect(tokenMatches('s3cret', 's3cret')).toBe(true);
    expect(tokenMatches('s3cret', 's3cre')).toBe(false);
    expect(tokenMatches('s3cret!', 's3cret')).toBe(false);
    expect(tokenMatches('', 's3cret')).toBe(false);
  });
});
