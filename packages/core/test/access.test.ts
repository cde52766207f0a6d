import { describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { bearerToken, controlRequestOf, isLoopbackAddress, refuseControl, refuseToken, tokenMatches, type ControlRequest } from '../src/access.js';

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

  it.each([undefined, '', 'Bearer', 'Bearer ', 'Basic czNjcmV0', 'Bearer two words', 's3cret', 'NotBearer s3cret', 'X-Bearer s3cret'])(
    '%j → undefined',
    (header) => {
      expect(bearerToken(header)).toBeUndefined();
    },
  );
});

describe('tokenMatches', () => {
  it('compares exactly, whatever the lengths', () => {
    expect(tokenMatches('s3cret', 's3cret')).toBe(true);
    expect(tokenMatches('s3cret', 's3cre')).toBe(false);
    expect(tokenMatches('s3cret!', 's3cret')).toBe(false);
    expect(tokenMatches('', 's3cret')).toBe(false);
    // Same length, one character off (a length-only or prefix check would accept these).
    for (const given of ['x3cret', 's3Xret', 's3creT', 'S3CRET', '000000']) expect({ given, ok: tokenMatches(given, 's3cret') }).toEqual({ given, ok: false });
  });
});

describe('refuseControl (the one guard of ECV control and the monitor)', () => {
  const loopback: ControlRequest = { remoteAddress: '127.0.0.1', authorization: undefined, host: '127.0.0.1:3000', origin: undefined, secFetchSite: undefined };

  it.each<[string, Partial<ControlRequest>]>([
    ['a foreign Origin', { origin: 'http://evil.com' }],
    ['Origin: null', { origin: 'null' }],
    ['an Origin on another port', { origin: 'http://127.0.0.1:3001' }],
    ['Sec-Fetch-Site: cross-site', { secFetchSite: 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { secFetchSite: 'same-site' }],
    ['a rebinding Host', { host: 'evil.example:3000' }],
    ['a localhost look-alike Host', { host: 'localhost.evil.example' }],
    ['no Host', { host: undefined }],
    ['a remote peer', { remoteAddress: '10.0.0.5' }],
  ])('without a token refuses a caller with %s: 403', (_name, change) => {
    expect(refuseControl({ ...loopback, ...change }, undefined)).toMatchObject({ status: 403, code: 'FORBIDDEN', headers: {} });
  });

  it.each<[string, Partial<ControlRequest>]>([
    ['no browser headers', {}],
    ['a same-origin Origin', { origin: 'http://127.0.0.1:3000' }],
    ['a default-port Origin', { origin: 'http://localhost', host: 'localhost:80' }],
    ['Sec-Fetch-Site: same-origin', { secFetchSite: 'same-origin' }],
    ['Sec-Fetch-Site: none', { secFetchSite: 'none' }],
    ['Host: localhost', { host: 'localhost:3000' }],
    ['an IPv6 Host', { host: '[::1]:3000', remoteAddress: '::1' }],
  ])('without a token lets a loopback caller with %s through', (_name, change) => {
    expect(refuseControl({ ...loopback, ...change }, undefined)).toBeUndefined();
  });

  it('with a token the token alone decides, loopback included: 401 none, 403 wrong', () => {
    expect(refuseControl(loopback, 's3cret')).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
      message: 'this needs Authorization: Bearer <monToken>',
      headers: { 'www-authenticate': 'Bearer realm="cluster2"' },
    });
    expect(refuseControl({ ...loopback, authorization: 'Bearer nope' }, 's3cret')).toMatchObject({ status: 403 });
    const proxied = {
      remoteAddress: '10.0.0.5',
      host: 'ops.example.com',
      origin: 'https://ops.example.com',
      secFetchSite: 'same-origin',
      authorization: 'Bearer s3cret',
    };
    expect(refuseControl(proxied, 's3cret')).toBeUndefined();
  });

  it('refuseToken: 401 when none is presented, 403 when wrong, undefined when right', () => {
    expect(refuseToken(undefined, 's3cret')?.status).toBe(401);
    expect(refuseToken('s3cre', 's3cret')?.status).toBe(403);
    expect(refuseToken('s3creT', 's3cret')).toMatchObject({ status: 403, code: 'FORBIDDEN', message: 'wrong monitor token' });
    expect(refuseToken('s3cret!', 's3cret')?.status).toBe(403);
    expect(refuseToken('', 's3cret')?.status).toBe(403);
    expect(refuseToken('s3cret', 's3cret')).toBeUndefined();
  });
});

describe('refuseControl messages say what to change', () => {
  const base: ControlRequest = { remoteAddress: '127.0.0.1', authorization: undefined, host: '127.0.0.1:3000', origin: undefined, secFetchSite: undefined };
  it.each<[Partial<ControlRequest>, string]>([
    [{ origin: 'http://evil.com' }, 'cross-origin control requests are refused'],
    [{ remoteAddress: '10.0.0.5' }, 'control actions are allowed from loopback only (set monToken to allow remote callers)'],
    [{ host: 'evil.example' }, 'control actions need Host to be localhost or an IP address'],
    [{ host: 'localhost:9' }, ''],
  ])('%j → %j', (change, message) => {
    const refusal = refuseControl({ ...base, ...change }, undefined);
    if (message === '') expect(refusal).toBeUndefined();
    else expect(refusal).toEqual({ status: 403, code: 'FORBIDDEN', message, headers: {} });
  });
});

describe('controlRequestOf', () => {
  it('reads the peer and the four headers, joining a repeated header', () => {
    const req = {
      socket: { remoteAddress: '::1' },
      headers: { authorization: 'Bearer t', host: 'localhost:1', origin: 'http://localhost:1', 'sec-fetch-site': ['same-origin', 'none'] },
    } as unknown as IncomingMessage;
    expect(controlRequestOf(req)).toEqual({
      remoteAddress: '::1',
      authorization: 'Bearer t',
      host: 'localhost:1',
      origin: 'http://localhost:1',
      secFetchSite: 'same-origin, none',
    });
    const bare = { socket: { remoteAddress: undefined }, headers: {} } as unknown as IncomingMessage;
    expect(controlRequestOf(bare)).toEqual({ remoteAddress: undefined, authorization: undefined, host: undefined, origin: undefined, secFetchSite: undefined });
  });

  it('HTTP/2: the host is :authority when no Host header came, and Host when both did (the guard checks what the client named)', () => {
    const socket = { remoteAddress: '127.0.0.1' };
    expect(controlRequestOf({ socket, headers: { ':authority': 'evil.example:443' } }).host).toBe('evil.example:443');
    expect(controlRequestOf({ socket, headers: { ':authority': '127.0.0.1:1', host: 'evil.example' } }).host).toBe('evil.example');
    expect(refuseControl(controlRequestOf({ socket, headers: { ':authority': 'evil.example:443' } }), undefined)?.status).toBe(403);
    expect(refuseControl(controlRequestOf({ socket, headers: { ':authority': '127.0.0.1:8080' } }), undefined)).toBeUndefined();
  });
});
