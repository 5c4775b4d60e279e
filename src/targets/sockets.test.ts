import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { listeningPortsOf, parseTcpTable, pidsListeningOn } from './sockets.js';

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

describe('parseTcpTable', () => {
  it('reads listening IPv4 sockets: address, port and inode', () => {
    const text = [
      HEADER,
      '   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 123456 1 0000000000000000 100 0 0 10 0',
      '   1: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 100 0 0 10 0',
      // An established connection is not a listener.
      '   2: 0100007F:1F90 0100007F:D2A4 01 00000000:00000000 00:00000000 00000000  1000        0 333 1 0000000000000000 20 4 30 10 -1',
    ].join('\n');
    expect(parseTcpTable(text)).toEqual([
      { address: '127.0.0.1', port: 8080, inode: '123456' },
      { address: '0.0.0.0', port: 80, inode: '222' },
    ]);
  });

  it('reads IPv6 sockets: ::1, ::, and IPv4-mapped addresses as the IPv4 they map', () => {
    const text = [
      HEADER,
      '   0: 00000000000000000000000001000000:2401 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 11 1 0000000000000000 100 0 0 10 0',
      '   1: 00000000000000000000000000000000:0BB8 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 12 1 0000000000000000 100 0 0 10 0',
      '   2: 0000000000000000FFFF00000100007F:0BB9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 13 1 0000000000000000 100 0 0 10 0',
    ].join('\n');
    expect(parseTcpTable(text)).toEqual([
      { address: '::1', port: 9217, inode: '11' },
      { address: '::', port: 3000, inode: '12' },
      { address: '127.0.0.1', port: 3001, inode: '13' },
    ]);
  });

  it('skips what it cannot read', () => {
    expect(parseTcpTable('')).toEqual([]);
    expect(parseTcpTable(`${HEADER}\n   0: garbage 0A\n   1: 0100007F 00000000:0000 0A a b c d e f\n`)).toEqual([]);
  });
});

describe('listening sockets of this process, from the real /proc', () => {
  it('finds the port a server of ours listens on, and whose it is', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      expect(listeningPortsOf(process.pid)).toContainEqual(expect.objectContaining({ address: '127.0.0.1', port }));
      expect(pidsListeningOn(port, -1)).toEqual([process.pid]);
      // The harness leaves itself out by default.
      expect(pidsListeningOn(port)).toEqual([]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
