import { describe, expect, it } from 'vitest';

import { UsageError } from '../core/errors.js';
import { parseCurl, shellWords } from './curl.js';

const fail = (problem: string): never => {
  throw new Error(problem);
};

const CHROME = `curl 'https://api.openai.com/v1/chat/completions?trace=1' \\
  -H 'accept: text/event-stream' \\
  -H 'authorization: Bearer sk-abc' \\
  -H 'content-type: application/json' \\
  -H 'origin: https://chat.example.com' \\
  -H 'sec-fetch-mode: cors' \\
  -H 'user-agent: Mozilla/5.0 (X11; Linux x86_64)' \\
  --data-raw $'{"model":"gpt-4o","messages":[{"role":"user","content":"it\\'s caf\\u00e9"}],"stream":true}'`;

const FIREFOX =
  `curl 'http://localhost:3000/api/chat' --compressed -X POST -H 'User-Agent: Mozilla/5.0 (X11; rv:128.0) Gecko/20100101 Firefox/128.0' ` +
  `-H 'Accept: */*' -H 'Accept-Encoding: gzip, deflate, br, zstd' -H 'Content-Type: application/json' -H 'Connection: keep-alive' ` +
  `-H 'Cookie: session=abc' -H 'Sec-Fetch-Dest: empty' --data-raw '{"id":"x","messages":[]}'`;

describe('parseCurl', () => {
  it("reads Chrome's Copy as cURL: path and query, headers in order, $'…' body; the host is only reported", () => {
    const request = parseCurl(CHROME);
    expect(request.host).toBe('api.openai.com');
    expect(request.path).toBe('/v1/chat/completions?trace=1');
    expect(request.method).toBeNull();
    expect(request.headers.map(([name]) => name)).toEqual(['accept', 'authorization', 'content-type', 'origin', 'sec-fetch-mode', 'user-agent']);
    expect(request.headers[1]).toEqual(['authorization', 'Bearer sk-abc']);
    expect(JSON.parse(request.body!).messages[0].content).toBe("it's café");
    expect(request.notes).toEqual([]);
  });

  it("reads Firefox's: -X, --compressed, and leaves out what each client sets itself, saying so", () => {
    const request = parseCurl(FIREFOX);
    expect(request.method).toBe('POST');
    expect(request.host).toBe('localhost:3000');
    expect(request.headers.map(([name]) => name.toLowerCase())).toEqual(['user-agent', 'accept', 'content-type', 'cookie', 'sec-fetch-dest']);
    expect(request.notes).toEqual(['the stream is read uncompressed (no accept-encoding sent)', 'left out connection (each client sets its own)']);
  });

  it('-d, --data-binary, --json, -b, -u, -A, -G and attached short options', () => {
    expect(parseCurl(`curl -sSN -XPUT localhost:8080/x -d a=1 --data-binary b=2`)).toMatchObject({
      method: 'PUT',
      path: '/x',
      body: 'a=1&b=2',
      headers: [['Content-Type', 'application/x-www-form-urlencoded']],
      notes: ['ignored -s, -S, -N (they change only what curl prints or how it connects)'],
    });
    expect(parseCurl(`curl http://h/api --json '{"a":1}'`)).toMatchObject({
      body: '{"a":1}',
      headers: [['Content-Type', 'application/json'], ['Accept', 'application/json']],
    });
    expect(parseCurl(`curl http://h/ -d '{"a":1}'`).headers).toEqual([]);
    expect(parseCurl(`curl http://h/ -b 'a=1' -H 'Cookie: c=3' -b b=2`).headers).toEqual([['Cookie', 'c=3; a=1; b=2']]);
    expect(parseCurl(`curl -u me:pw -A agent/1 http://h/`).headers).toEqual([
      ['Authorization', `Basic ${Buffer.from('me:pw').toString('base64')}`],
      ['User-Agent', 'agent/1'],
    ]);
    expect(parseCurl(`curl -G http://h/s?x=1 -d q=2`)).toMatchObject({ method: 'GET', path: '/s?x=1&q=2', body: null });
    expect(parseCurl(`curl --request=DELETE --url=http://h`)).toMatchObject({ method: 'DELETE', path: '/' });
    expect(parseCurl(`curl 'http://h/chat/{id}/stream' -H 'X-Empty;'`)).toMatchObject({ path: '/chat/{id}/stream', headers: [['X-Empty', '']] });
  });

  it('$NAME and ${NAME} outside single quotes become ${NAME}, read from the environment later', () => {
    const request = parseCurl(`curl http://h/ -H "Authorization: Bearer $TOKEN" -H "x-key: \${KEY}" -H 'x-lit: $NOT'`);
    expect(request.headers).toEqual([
      ['Authorization', 'Bearer ${TOKEN}'],
      ['x-key', '${KEY}'],
      ['x-lit', '$NOT'],
    ]);
  });

  it.each([
    ['wget http://h/', /start.*with curl/],
    ['curl', /no URL/],
    ['curl http://a/ http://b/', /two URLs/],
    ['curl -F a=@f http://h/', /-F: multipart form bodies are not supported/],
    ['curl --proxy http://p:1 http://h/', /--proxy: load goes straight to the target/],
    ['curl --cacert x.pem http://h/', /--cacert is not an option this tool can use/],
    ['curl -Z http://h/', /-Z is not an option/],
    ['curl -d @body.json http://h/', /-d @body.json: .*--body @file/],
    ['curl -b cookies.txt http://h/', /-b cookies\.txt: a cookie file cannot be read/],
    ['curl -H nocolon http://h/', /-H 'nocolon': expected 'Name: value'/],
    ['curl -u me http://h/', /-u: give user:password/],
    ['curl ftp://h/x', /only http and https/],
    ['curl http://h/ | jq .', /'\|' outside quotes/],
    ['curl "http://h/$(whoami)"', /\$\(…\) is not run/],
    ['curl ^"http://h/^" -H ^"a: b^"', /Windows cmd/],
    ["curl 'http://h/", /not closed/],
    ['curl -X', /-X needs a value/],
  ])('%s -> one clear line', (command, message) => {
    expect(() => parseCurl(command)).toThrow(UsageError);
    expect(() => parseCurl(command)).toThrow(message);
  });
});

describe('shellWords', () => {
  it('quotes, escapes and continuations as bash splits them', () => {
    expect(shellWords(`a 'b c' "d \\"e\\" \\$f" g\\ h \\\n i $'j\\tk\\x41\\101\\'' "l"'m'n`, fail)).toEqual([
      'a',
      'b c',
      'd "e" $f',
      'g h',
      'i',
      "j\tkAA'",
      'lmn',
    ]);
    expect(shellWords(`$'\\xc3\\xa9\\u00e9'`, fail)).toEqual(['éé']);
    expect(shellWords('x "a\\nb"', fail)).toEqual(['x', 'a\\nb']);
  });
});
