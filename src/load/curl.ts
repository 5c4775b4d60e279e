/**
 * `--curl`: a request taken from a curl command line as a browser's devtools copy it ("Copy as cURL",
 * bash flavour): method, headers, body, cookies and the URL's path and query. The URL's host is not
 * used (load goes only to the target on 127.0.0.1). Whatever this cannot send as curl would is one
 * clear UsageError naming the option; what it leaves out on purpose is listed in `notes`.
 */
import { UsageError } from '../core/errors.js';

export interface CurlRequest {
  /** As given with -X; null when the command gives none (curl then sends GET, or POST with data). */
  method: string | null;
  /** The URL's host (and port), for the line that says it is replaced. */
  host: string;
  /** Path and query of the URL. */
  path: string;
  /** In command-line order, names as given. */
  headers: Array<[string, string]>;
  body: string | null;
  /** What was left out or read differently, one short phrase each. */
  notes: string[];
}

/** Options that change only what curl prints or how it connects: nothing to send differently. */
const IGNORED_FLAGS = new Set([
  '-s', '--silent', '-S', '--show-error', '-N', '--no-buffer', '-v', '--verbose', '-i', '--include', '-L', '--location',
  '-k', '--insecure', '-g', '--globoff', '-f', '--fail', '--fail-with-body', '--http1.1', '--http1.0', '--http2',
  '--http2-prior-knowledge', '-#', '--progress-bar', '--no-progress-meter', '-4', '--ipv4', '-6', '--ipv6', '--raw',
]);
const IGNORED_WITH_VALUE = new Set(['-o', '--output', '-m', '--max-time', '--connect-timeout', '-w', '--write-out', '--retry']);
/** Options whose value is consumed: short and long spellings to one name. */
const WITH_VALUE: Record<string, string> = {
  '-X': 'request', '--request': 'request',
  '-H': 'header', '--header': 'header',
  '-d': 'data', '--data': 'data', '--data-ascii': 'data',
  '--data-raw': 'data-raw', '--data-binary': 'data-binary', '--json': 'json',
  '-b': 'cookie', '--cookie': 'cookie',
  '-A': 'user-agent', '--user-agent': 'user-agent',
  '-e': 'referer', '--referer': 'referer',
  '-u': 'user', '--user': 'user',
  '--url': 'url',
};
const UNSUPPORTED: Record<string, string> = {
  '-F': 'multipart form bodies are not supported',
  '--form': 'multipart form bodies are not supported',
  '--data-urlencode': 'give the encoded body with --data-raw',
  '-T': 'uploads are not streams to check',
  '--upload-file': 'uploads are not streams to check',
  '-x': 'load goes straight to the target on 127.0.0.1, not through a proxy',
  '--proxy': 'load goes straight to the target on 127.0.0.1, not through a proxy',
  '--unix-socket': 'load goes to the target on 127.0.0.1',
  '-K': 'give the command itself, not a config file',
  '--config': 'give the command itself, not a config file',
  '-:': 'give one request',
  '--next': 'give one request',
  '-E': 'client certificates are not supported',
  '--cert': 'client certificates are not supported',
};
/** Headers each client sets itself, or that name the host this request does not go to. */
const LEFT_OUT_HEADERS = new Set(['host', 'content-length', 'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'expect']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseCurl(command: string): CurlRequest {
  const fail = (problem: string): never => {
    throw new UsageError(`--curl: ${problem}`);
  };
  const words = shellWords(command, fail);
  const first = words.shift();
  if (first === undefined || !/(?:^|\/)curl(?:\.exe)?$/.test(first)) fail('give a curl command line, starting with curl');

  let method: string | null = null;
  let url: string | null = null;
  let get = false;
  const headers: Array<[string, string]> = [];
  const cookies: string[] = [];
  const data: string[] = [];
  const json: string[] = [];
  const ignored: string[] = [];
  const leftOut = new Set<string>();
  const notes: string[] = [];
  let compressed = false;
  let formData = false;

  const addHeader = (option: string, text: string) => {
    if (text.startsWith('@')) fail(`${option} ${text}: headers from a file cannot be read; give each with -H 'Name: value'`);
    const colon = text.indexOf(':');
    const semicolon = text.indexOf(';');
    // curl: 'Name;' sends an empty header, 'Name:' removes one curl would add itself.
    const emptyValue = colon < 0 && semicolon > 0 && text.slice(semicolon + 1).trim() === '';
    if (colon <= 0 && !emptyValue) fail(`${option} '${text.slice(0, 40)}': expected 'Name: value'`);
    const name = (emptyValue ? text.slice(0, semicolon) : text.slice(0, colon)).trim();
    const value = emptyValue ? '' : text.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name)) fail(`${option} '${name.slice(0, 40)}': not a header name`);
    const lower = name.toLowerCase();
    if (LEFT_OUT_HEADERS.has(lower)) return void leftOut.add(lower);
    if (lower === 'accept-encoding') return void (compressed = true);
    if (!emptyValue && value === '') return void leftOut.add(lower);
    headers.push([name, value]);
  };
  const dataValue = (option: string, value: string, raw: boolean): string => {
    if (!raw && value.startsWith('@')) fail(`${option} ${value}: a body from a file cannot be read here; give it with --body @file instead`);
    return value;
  };

  for (let i = 0; i < words.length; i++) {
    let word = words[i]!;
    let value: string | undefined;
    if (word.startsWith('--') && word.includes('=') && word.length > 2) {
      // --request=POST
      const eq = word.indexOf('=');
      value = word.slice(eq + 1);
      word = word.slice(0, eq);
    } else if (/^-[A-Za-z#:]/.test(word) && !word.startsWith('--') && word.length > 2) {
      // -XPOST, -sS, -sSN
      const short = word.slice(0, 2);
      if (short in WITH_VALUE || IGNORED_WITH_VALUE.has(short)) {
        value = word.slice(2);
        word = short;
      } else {
        const flags = word.slice(1).split('').map((letter) => `-${letter}`);
        const unknown = flags.find((flag) => !IGNORED_FLAGS.has(flag) && flag !== '-G' && !(flag in UNSUPPORTED));
        if (unknown) fail(`${unknown} (in ${word}) is not an option this tool can use`);
        words.splice(i, 1, ...flags);
        i--;
        continue;
      }
    }
    const takeValue = (): string => {
      if (value !== undefined) return value;
      const next = words[++i];
      if (next === undefined) fail(`${word} needs a value`);
      return next!;
    };
    if (word in UNSUPPORTED) fail(`${word}: ${UNSUPPORTED[word]}`);
    if (word === '--compressed') {
      compressed = true;
      continue;
    }
    if (word === '-G' || word === '--get') {
      get = true;
      continue;
    }
    if (IGNORED_FLAGS.has(word)) {
      ignored.push(word);
      continue;
    }
    if (IGNORED_WITH_VALUE.has(word)) {
      takeValue();
      ignored.push(word);
      continue;
    }
    if (word === '--') continue;
    if (!word.startsWith('-') || word === '-') {
      if (url !== null) fail(`two URLs (${url.slice(0, 60)} and ${word.slice(0, 60)}): give one request`);
      url = word;
      continue;
    }
    const option = WITH_VALUE[word];
    if (option === undefined) {
      fail(`${word} is not an option this tool can use (it reads -X, -H, -d, --data-raw, --data-binary, --json, -b, -u, -A, -e, --compressed and the URL)`);
    }
    const text = takeValue();
    switch (option) {
      case 'request':
        method = text;
        break;
      case 'header':
        addHeader(word, text);
        break;
      case 'data':
        formData = true;
        data.push(dataValue(word, text, false));
        break;
      case 'data-raw':
        formData = true;
        data.push(text);
        break;
      case 'data-binary':
        formData = true;
        data.push(dataValue(word, text, false));
        break;
      case 'json':
        json.push(dataValue(word, text, false));
        break;
      case 'cookie':
        if (!text.includes('=')) fail(`${word} ${text.slice(0, 40)}: a cookie file cannot be read; give the cookies as -b 'name=value; name2=value2'`);
        cookies.push(text);
        break;
      case 'user-agent':
        headers.push(['User-Agent', text]);
        break;
      case 'referer':
        headers.push(['Referer', text]);
        break;
      case 'user':
        if (!text.includes(':')) fail(`${word}: give user:password (curl would ask for the password)`);
        headers.push(['Authorization', `Basic ${Buffer.from(text).toString('base64')}`]);
        break;
      case 'url':
        if (url !== null) fail(`two URLs (${url.slice(0, 60)} and ${text.slice(0, 60)}): give one request`);
        url = text;
        break;
    }
  }
  if (url === null) fail('no URL in the command');
  if (json.length > 0 && data.length > 0) fail('--json and -d together: give the body one way');
  const { host, path: urlPath, userinfo } = splitUrl(url!, fail);
  let path = urlPath;
  if (userinfo !== null && !headers.some(([name]) => name.toLowerCase() === 'authorization')) {
    headers.push(['Authorization', `Basic ${Buffer.from(decodeURIComponent(userinfo)).toString('base64')}`]);
  }
  if (cookies.length > 0) {
    const existing = headers.findIndex(([name]) => name.toLowerCase() === 'cookie');
    if (existing >= 0) headers[existing]![1] = [headers[existing]![1], ...cookies].join('; ');
    else headers.push(['Cookie', cookies.join('; ')]);
  }
  const has = (name: string) => headers.some(([n]) => n.toLowerCase() === name);
  let body: string | null = null;
  if (json.length > 0) {
    body = json.join('');
    if (!has('content-type')) headers.push(['Content-Type', 'application/json']);
    if (!has('accept')) headers.push(['Accept', 'application/json']);
  } else if (data.length > 0) {
    body = data.join('&');
  }
  if (get && body !== null) {
    path += (path.includes('?') ? '&' : '?') + body;
    body = null;
    method ??= 'GET';
  }
  // curl sends form data as application/x-www-form-urlencoded; a JSON body gets application/json later on.
  if (formData && body !== null && !has('content-type') && !looksLikeJson(body)) {
    headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
  }
  if (compressed) notes.push('the stream is read uncompressed (no accept-encoding sent)');
  if (leftOut.size > 0) notes.push(`left out ${[...leftOut].join(', ')} (each client sets its own)`);
  if (ignored.length > 0) notes.push(`ignored ${[...new Set(ignored)].join(', ')} (they change only what curl prints or how it connects)`);
  return { method, host, path, headers, body, notes };
}

function looksLikeJson(body: string): boolean {
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

/** Host and path+query of a URL as curl takes it (no scheme means http); `{id}` stays as typed. */
function splitUrl(url: string, fail: (problem: string) => never): { host: string; path: string; userinfo: string | null } {
  const match = /^(?:([A-Za-z][A-Za-z0-9+.-]*):\/\/)?([^/?#]*)([^#]*)/.exec(url);
  const scheme = (match?.[1] ?? 'http').toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') fail(`${url.slice(0, 60)}: only http and https URLs`);
  let authority = match?.[2] ?? '';
  let userinfo: string | null = null;
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    userinfo = authority.slice(0, at);
    authority = authority.slice(at + 1);
  }
  if (authority === '') fail(`${url.slice(0, 60)}: no host in the URL`);
  let path = match?.[3] ?? '';
  if (path === '') path = '/';
  else if (path.startsWith('?')) path = `/${path}`;
  return { host: authority, path, userinfo };
}

/**
 * Splits a command line as bash would, without running anything: '…', "…", $'…', backslashes and
 * backslash-newline continuations. `$NAME` and `${NAME}` outside single quotes become `${NAME}`,
 * which is read from the environment at run time like `${NAME}` anywhere in a request.
 */
export function shellWords(text: string, fail: (problem: string) => never): string[] {
  if (/\^"/.test(text) || /\^\s*\r?\n/.test(text)) fail('this looks like a Windows cmd command (^ escapes): copy as cURL (bash) instead');
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const n = text.length;
  const variable = (): string => {
    // At a '$' outside single quotes.
    const rest = text.slice(i + 1);
    const braced = /^\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(rest);
    const bare = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (braced) {
      i += 1 + braced[0].length;
      return `\${${braced[1]}}`;
    }
    if (bare) {
      i += 1 + bare[0].length;
      return `\${${bare[0]}}`;
    }
    if (rest.startsWith('(')) fail('$(…) is not run: put the value itself in the command');
    i++;
    return '$';
  };
  while (i < n) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i++;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2; // a continuation: nothing, not even a word break
      continue;
    }
    if (c === '\\' && text[i + 1] === '\r' && text[i + 2] === '\n') {
      i += 3;
      continue;
    }
    inWord = true;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined) i++;
      else {
        word += next;
        i += 2;
      }
      continue;
    }
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) fail('a quote (\') is not closed');
      word += text.slice(i + 1, end);
      i = end + 1;
      continue;
    }
    if (c === '$' && text[i + 1] === "'") {
      i += 2;
      word += ansiC();
      continue;
    }
    if (c === '"') {
      i++;
      for (;;) {
        if (i >= n) fail('a quote (") is not closed');
        const d = text[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\') {
          const next = text[i + 1];
          if (next === '\n') {
            i += 2;
          } else if (next === '"' || next === '\\' || next === '$' || next === '`') {
            word += next;
            i += 2;
          } else {
            word += d;
            i++;
          }
          continue;
        }
        if (d === '$') {
          word += variable();
          continue;
        }
        if (d === '`') fail('`…` is not run: put the value itself in the command');
        word += d;
        i++;
      }
      continue;
    }
    if (c === '$') {
      word += variable();
      continue;
    }
    if (c === '`') fail('`…` is not run: put the value itself in the command');
    if ('|;&<>()'.includes(c)) fail(`'${c}' outside quotes: give one curl command, without pipes, redirections or a second command`);
    word += c;
    i++;
  }
  if (inWord) words.push(word);
  return words;

  /** The body of $'…' from just after the opening quote; leaves `i` after the closing one. */
  function ansiC(): string {
    let out = '';
    // \xHH and octal escapes are bytes: runs of them are decoded as UTF-8, as a terminal would show them.
    let bytes: number[] = [];
    const flush = () => {
      if (bytes.length > 0) out += Buffer.from(bytes).toString('utf8');
      bytes = [];
    };
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', e: '\x1b', E: '\x1b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
    for (;;) {
      if (i >= n) fail("a quote ($') is not closed");
      const c = text[i]!;
      if (c === "'") {
        i++;
        flush();
        return out;
      }
      const e = text[i + 1];
      if (c === '\\' && e === 'x') {
        const digits = /^[0-9A-Fa-f]{1,2}/.exec(text.slice(i + 2, i + 4))?.[0];
        if (digits) {
          bytes.push(parseInt(digits, 16));
          i += 2 + digits.length;
          continue;
        }
      }
      const octal = c === '\\' ? /^[0-7]{1,3}/.exec(text.slice(i + 1, i + 4))?.[0] : undefined;
      if (octal) {
        bytes.push(parseInt(octal, 8) & 0xff);
        i += 1 + octal.length;
        continue;
      }
      flush();
      if (c !== '\\') {
        out += c;
        i++;
        continue;
      }
      if (e === undefined) fail("a quote ($') is not closed");
      if (e! in simple) {
        out += simple[e!];
        i += 2;
        continue;
      }
      if (e === 'u' || e === 'U') {
        const digits = new RegExp(`^[0-9A-Fa-f]{1,${e === 'u' ? 4 : 8}}`).exec(text.slice(i + 2, i + 10))?.[0];
        if (digits) {
          out += String.fromCodePoint(parseInt(digits, 16));
          i += 2 + digits.length;
          continue;
        }
      }
      out += `\\${e}`;
      i += 2;
    }
  }
}
