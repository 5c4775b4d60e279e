import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { parseGoroutineProfile, sampleGo } from './go.js';

// Recorded from the reference Go streamer (old) after 3 disconnects, trimmed to three groups.
const PROFILE = [
  'goroutine profile: total 9',
  '3 @ 0x43b316 0x4070fc 0x406d58 0x6c8f0e 0x6c98c5 0x46cd01',
  '#\t0x6c8f0d\tmain.(*ResponseStreamer).sendEvent+0x4d\t/src/go/streamer/main.go:97',
  '#\t0x6c98c4\tmain.(*ResponseStreamer).Stream+0x7a4\t/src/go/streamer/main.go:161',
  '',
  '3 @ 0x43b316 0x433d37 0x4677a5 0x4d3c32',
  '#\t0x4677a4\tinternal/poll.runtime_pollWait+0x84\t/usr/lib/go-1.19/src/runtime/netpoll.go:305',
  '#\t0x4d3c31\tinternal/poll.(*pollDesc).wait+0x31\t/usr/lib/go-1.19/src/internal/poll/fd_poll_runtime.go:84',
  '#\t0x60f8a4\tnet/http.(*persistConn).readLoop+0x104\t/usr/lib/go-1.19/src/net/http/transport.go:2070',
  '',
  '1 @ 0x43b316 0x46a4b3',
  '#\t0x46a4b2\truntime.goexit+0x1\t/usr/lib/go-1.19/src/runtime/asm_amd64.s:1594',
  '',
].join('\n');

describe('parseGoroutineProfile', () => {
  it('reads the total and groups goroutines by their first frame in the program', () => {
    const profile = parseGoroutineProfile(PROFILE);
    expect(profile.total).toBe(9);
    expect(profile.groups['main.(*ResponseStreamer).sendEvent main.go:97']).toBe(3);
    // No frame of the program: the function the goroutine runs names it, not where every network wait ends.
    expect(profile.groups['net/http.(*persistConn).readLoop transport.go:2070']).toBe(3);
    expect(profile.groups['runtime.goexit asm_amd64.s:1594']).toBe(1);
    expect(Object.values(profile.groups).reduce((a, b) => a + b, 0)).toBe(7);
  });

  it('refuses text that is not a goroutine profile', () => {
    expect(() => parseGoroutineProfile('<html>404</html>')).toThrow(/not a goroutine profile/);
  });
});

describe('sampleGo', () => {
  it('runs two GCs before reading HeapAlloc (sync.Pool keeps a victim cache through one)', async () => {
    // A stand-in for a Go server's pprof and expvar, on a real loopback socket, that records what is asked.
    const asked: string[] = [];
    let gcs = 0;
    const server = http.createServer((req, res) => {
      asked.push(req.url!);
      if (req.url === '/debug/pprof/heap?gc=1') gcs++;
      if (req.url === '/debug/vars') return res.end(JSON.stringify({ memstats: { HeapAlloc: 1_000_000 + gcs } }));
      if (req.url?.startsWith('/debug/pprof/goroutine')) return res.end(PROFILE);
      res.end('heap profile');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const dispatcher = new Agent();
    try {
      const sample = await sampleGo(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, dispatcher);
      expect(asked.slice(0, 3)).toEqual(['/debug/pprof/heap?gc=1', '/debug/pprof/heap?gc=1', '/debug/vars']);
      expect(sample.heapAllocBytes).toBe(1_000_002);
      expect(sample.goroutines).toBe(9);
    } finally {
      await dispatcher.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
