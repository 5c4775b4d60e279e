/**
 * Listening TCP sockets from /proc (Linux): which process listens on a port, and on which ports a
 * process listens. /proc/net/tcp{,6} maps a socket's inode to its local address and state;
 * /proc/PID/fd links each descriptor to `socket:[INODE]`. Elsewhere nothing is found.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface ListeningSocket {
  /** The local address as text: '127.0.0.1', '0.0.0.0', '::1', '::'. */
  address: string;
  port: number;
  inode: string;
}

/** The TCP state LISTEN in /proc/net/tcp's `st` column. */
const TCP_LISTEN = '0A';

/**
 * The listening sockets of a /proc/net/tcp or /proc/net/tcp6 table. Each line's local_address is
 * HEX_IP:HEX_PORT, the IP in the kernel's byte order (little-endian 32-bit words on x86 and arm).
 */
export function parseTcpTable(text: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== TCP_LISTEN) continue;
    const [hexIp = '', hexPort = ''] = fields[1]!.split(':');
    const port = Number.parseInt(hexPort, 16);
    const address = hexIp.length === 8 ? ipv4Of(hexIp) : hexIp.length === 32 ? ipv6Of(hexIp) : null;
    if (address === null || !Number.isInteger(port)) continue;
    sockets.push({ address, port, inode: fields[9]! });
  }
  return sockets;
}

/** One little-endian 32-bit word as its four bytes in address order. */
function wordBytes(hex: string): number[] {
  return [6, 4, 2, 0].map((at) => Number.parseInt(hex.slice(at, at + 2), 16));
}

function ipv4Of(hex: string): string {
  return wordBytes(hex).join('.');
}

function ipv6Of(hex: string): string {
  const bytes = [0, 8, 16, 24].flatMap((at) => wordBytes(hex.slice(at, at + 8)));
  // An IPv4-mapped address (::ffff:127.0.0.1) is the IPv4 address it maps.
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return bytes.slice(12).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16));
  // The longest run of zero groups becomes '::', as addresses are written.
  let best = { at: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j;
  }
  if (best.length < 2) return groups.join(':');
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`;
}

/** Every listening TCP socket on this machine's network namespace, IPv4 and IPv6. */
export function listeningSockets(): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    try {
      sockets.push(...parseTcpTable(readFileSync(table, 'latin1')));
    } catch {
      // no /proc, or no IPv6
    }
  }
  return sockets;
}

/** The socket inodes a process holds open; empty when it is gone or not ours to read. */
export function socketInodesOf(pid: number): Set<string> {
  const inodes = new Set<string>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** The ports `pid` listens on, each once, in the order the tables list them. */
export function listeningPortsOf(pid: number): ListeningSocket[] {
  const held = socketInodesOf(pid);
  if (held.size === 0) return [];
  const seen = new Set<number>();
  return listeningSockets().filter((socket) => held.has(socket.inode) && !seen.has(socket.port) && seen.add(socket.port));
}

/** Pids of the processes holding a listening socket on `port` (IPv4 or IPv6), lowest first. */
export function pidsListeningOn(port: number, exclude: number = process.pid): number[] {
  const inodes = new Set(listeningSockets().filter((s) => s.port === port).map((s) => s.inode));
  if (inodes.size === 0) return [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const holders: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry) || Number(entry) === exclude) continue;
    const held = socketInodesOf(Number(entry));
    for (const inode of inodes) {
      if (held.has(inode)) {
        holders.push(Number(entry));
        break;
      }
    }
  }
  return holders.sort((a, b) => a - b);
}

/** The command line of a process, shortened for a report; '?' when it cannot be read. */
export function commandOf(pid: number): string {
  try {
    const text = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return text.length > 120 ? `${text.slice(0, 119)}…` : text;
  } catch {
    return '?';
  }
}
