/**
 * What `--attach NAME=URL`, `--pid NAME=PID` and `--upstream NAME=URL` may say, checked before anything
 * runs. Pure: every mistake is one line naming the flag. Loopback only: whoever reaches a server's
 * inspector runs code in it, and load from this tool goes to this machine alone.
 */
import net from 'node:net';

export interface LoopbackOrigin {
  /** `http://127.0.0.1:3000`, `http://[::1]:3000`: where load goes. */
  origin: string;
  host: string;
  port: number;
}

/** 127.0.0.0/8 or ::1 (with or without brackets). `localhost` is a name, and a name may point anywhere. */
export function isLoopbackAddress(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1');
  if (net.isIPv4(bare)) return bare.split('.')[0] === '127';
  return net.isIPv6(bare) && new net.SocketAddress({ address: bare, family: 'ipv6' }).address === '::1';
}

/** The origin of an `http://` URL on a loopback address, or the problem with it. */
export function loopbackOrigin(text: string): LoopbackOrigin | { problem: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return { problem: 'not a URL (give one such as http://127.0.0.1:3000)' };
  }
  if (url.protocol !== 'http:') return { problem: `only http:// is supported (got ${url.protocol.replace(/:$/, '')}://)` };
  if (url.username || url.password) return { problem: 'leave credentials out of the URL' };
  const host = url.hostname;
  if (host === 'localhost') return { problem: 'give the address, 127.0.0.1 or [::1], not localhost (a name may resolve elsewhere)' };
  if (!isLoopbackAddress(host)) return { problem: `${host} is not a loopback address: only 127.0.0.0/8 and ::1 can be attached to` };
  if (url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    return { problem: 'give the server\'s origin only (http://127.0.0.1:3000); the stream route is --path' };
  }
  const port = url.port === '' ? 80 : Number(url.port);
  return { origin: url.origin, host, port };
}

/** A process id as `--pid` gives it, or the problem with it. */
export function pidOf(text: string): number | { problem: string } {
  if (!/^\d+$/.test(text.trim())) return { problem: 'expected a process id (a whole number)' };
  const pid = Number(text.trim());
  if (pid <= 1 || pid > 2 ** 22) return { problem: `${pid} is not a process id a server can have` };
  return pid;
}
