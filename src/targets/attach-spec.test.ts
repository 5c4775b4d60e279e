import { describe, expect, it } from 'vitest';
import { isLoopbackAddress, loopbackOrigin, pidOf } from './attach-spec.js';

describe('loopbackOrigin', () => {
  it('takes the origin of an http URL on 127.0.0.0/8 or ::1', () => {
    expect(loopbackOrigin('http://127.0.0.1:3000')).toEqual({ origin: 'http://127.0.0.1:3000', host: '127.0.0.1', port: 3000 });
    expect(loopbackOrigin('http://127.1.2.3:8080/')).toEqual({ origin: 'http://127.1.2.3:8080', host: '127.1.2.3', port: 8080 });
    expect(loopbackOrigin('http://[::1]:3000')).toEqual({ origin: 'http://[::1]:3000', host: '[::1]', port: 3000 });
    expect(loopbackOrigin('http://127.0.0.1')).toMatchObject({ port: 80 });
  });

  it.each([
    ['http://10.0.0.1:3000', /10\.0\.0\.1 is not a loopback address/],
    ['http://0.0.0.0:3000', /not a loopback address/],
    ['http://example.com:3000', /not a loopback address/],
    ['http://[::ffff:127.0.0.1]:3000', /not a loopback address/],
    ['http://localhost:3000', /not localhost/],
    ['https://127.0.0.1:3000', /only http:\/\/ is supported/],
    ['http://user:secret@127.0.0.1:3000', /credentials/],
    ['http://127.0.0.1:3000/chat', /origin only/],
    ['http://127.0.0.1:3000/?x=1', /origin only/],
    ['127.0.0.1:3000', /only http:\/\/|not a URL/],
    ['not a url', /not a URL/],
  ])('refuses %s', (url, problem) => {
    const result = loopbackOrigin(url);
    expect('problem' in result && result.problem).toMatch(problem);
  });

  it('knows loopback addresses from others', () => {
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('[::1]')).toBe(true);
    expect(isLoopbackAddress('0:0:0:0:0:0:0:1')).toBe(true);
    expect(isLoopbackAddress('128.0.0.1')).toBe(false);
    expect(isLoopbackAddress('localhost')).toBe(false);
  });
});

describe('pidOf', () => {
  it('reads a process id', () => expect(pidOf(' 4242 ')).toBe(4242));
  it.each(['abc', '-5', '1', '0', '12.5', '99999999'])('refuses %s', (text) => expect(typeof pidOf(text)).toBe('object'));
});
