import { describe, expect, it } from 'vitest';
import { startTimeOf } from '../targets/attached.js';
import { catchesSigusr1, looksLikeNode } from './node-inspector.js';

describe('what is checked before SIGUSR1 is sent', () => {
  it('knows Node binaries by name, and nothing else', () => {
    for (const exe of ['/usr/bin/node', '/usr/bin/nodejs', '/home/u/.nvm/versions/node/v20.1.0/bin/node', '/opt/node22', '/usr/local/bin/node-22.12.0', '/usr/bin/node (deleted)']) {
      expect(looksLikeNode(exe), exe).toBe(true);
    }
    for (const exe of ['/usr/bin/bash', '/bin/sh', '/usr/bin/python3.11', '/usr/lib/node_modules/npm/bin/npm', '/usr/bin/nodemon', '/usr/bin/bun']) {
      expect(looksLikeNode(exe), exe).toBe(false);
    }
  });

  it('reads whether SIGUSR1 (signal 10) has a handler from SigCgt', () => {
    // A Node 20 server: SIGUSR1 caught (bit 9 of 0x...4602 is set).
    expect(catchesSigusr1('Name:\tnode\nSigCgt:\t0000000100004602\n')).toBe(true);
    // /bin/sh -c (SIGINT and SIGCHLD only): the signal would end it.
    expect(catchesSigusr1('Name:\tsh\nSigCgt:\t0000000000010002\n')).toBe(false);
    expect(catchesSigusr1('Name:\tx\n')).toBe(false);
  });

  it('reads the start time that tells a process from a later one with its pid', () => {
    expect(startTimeOf('4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 5 1 0 0 20 0 11 0 987654 1000 50')).toBe('987654');
    expect(startTimeOf('garbage')).toBeNull();
  });
});
