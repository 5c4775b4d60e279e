import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { Channel, ChannelClosedError } from './channel.js';

/** Lets every already-settled promise callback run, so "has not settled" is a real observation. */
async function flush(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function track<T>(promise: Promise<T>): { settled: () => boolean; promise: Promise<T> } {
  let settled = false;
  const tracked = promise.finally(() => {
    settled = true;
  });
  tracked.catch(() => {});
  return { settled: () => settled, promise: tracked };
}

function abortListeners(signal: AbortSignal): number {
  return getEventListeners(signal, 'abort').length;
}

describe('Channel (unbuffered)', () => {
  it('does not settle a send until a receiver takes the value (rendezvous)', async () => {
    const channel = new Channel<string>();
    const send = track(channel.send('a'));
    await flush();
    expect(send.settled()).toBe(false);
    expect(channel.pendingSenders).toBe(1);

    await expect(channel.receive()).resolves.toEqual({ value: 'a', ok: true });
    await send.promise;
    expect(send.settled()).toBe(true);
    expect(channel.pendingSenders).toBe(0);
  });

  it('does not settle a receive until a sender gives a value', async () => {
    const channel = new Channel<number>();
    const receive = track(channel.receive());
    await flush();
    expect(receive.settled()).toBe(false);
    expect(channel.pendingReceivers).toBe(1);

    await channel.send(7);
    await expect(receive.promise).resolves.toEqual({ value: 7, ok: true });
    expect(channel.pendingReceivers).toBe(0);
  });

  it('delivers in FIFO order to receivers and from senders', async () => {
    const channel = new Channel<number>();
    const sends = [1, 2, 3].map((n) => channel.send(n));
    const received = [];
    for (let i = 0; i < 3; i++) received.push(await channel.receive());
    await Promise.all(sends);
    expect(received).toEqual([1, 2, 3].map((value) => ({ value, ok: true })));

    const receives = [channel.receive(), channel.receive(), channel.receive()];
    for (const n of [4, 5, 6]) await channel.send(n);
    expect(await Promise.all(receives)).toEqual([4, 5, 6].map((value) => ({ value, ok: true })));
  });

  it('close wakes every waiting receiver with ok: false, and later receives too', async () => {
    const channel = new Channel<string>();
    const receives = [channel.receive(), channel.receive()];
    channel.close();
    expect(await Promise.all(receives)).toEqual([{ ok: false }, { ok: false }]);
    await expect(channel.receive()).resolves.toEqual({ ok: false });
    expect(channel.pendingReceivers).toBe(0);
  });

  it('rejects a send on a closed channel, a sender waiting at close, and a second close', async () => {
    const channel = new Channel<string>();
    const waiting = channel.send('late');
    channel.close();
    await expect(waiting).rejects.toBeInstanceOf(ChannelClosedError);
    await expect(channel.send('x')).rejects.toBeInstanceOf(ChannelClosedError);
    expect(() => channel.close()).toThrow(ChannelClosedError);
    expect(channel.pendingSenders).toBe(0);
  });

  it('withdraws an aborted sender: it rejects with the reason and a later receive does not see it', async () => {
    const channel = new Channel<string>();
    const controller = new AbortController();
    const withdrawn = channel.send('withdrawn', { signal: controller.signal });
    expect(channel.pendingSenders).toBe(1);

    const reason = new Error('client gone');
    controller.abort(reason);
    await expect(withdrawn).rejects.toBe(reason);
    expect(channel.pendingSenders).toBe(0);

    const receive = track(channel.receive());
    await flush();
    expect(receive.settled()).toBe(false);
    await channel.send('next');
    await expect(receive.promise).resolves.toEqual({ value: 'next', ok: true });
  });

  it('withdraws an aborted receiver: a later send does not deliver to it', async () => {
    const channel = new Channel<string>();
    const controller = new AbortController();
    const withdrawn = channel.receive({ signal: controller.signal });
    controller.abort();
    await expect(withdrawn).rejects.toMatchObject({ name: 'AbortError' });
    expect(channel.pendingReceivers).toBe(0);

    const send = track(channel.send('for someone else'));
    await flush();
    expect(send.settled()).toBe(false);
    await expect(channel.receive()).resolves.toEqual({ value: 'for someone else', ok: true });
    await send.promise;
  });

  it('rejects at once with an already-aborted signal, even when a partner is waiting', async () => {
    const channel = new Channel<string>();
    const receive = track(channel.receive());
    const reason = new Error('already cancelled');
    await expect(channel.send('x', { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    await flush();
    expect(receive.settled()).toBe(false);
    expect(channel.pendingReceivers).toBe(1);
    await expect(channel.receive({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    channel.close();
    await receive.promise;
  });

  it('leaves no listener on the signal after a send or receive settles, whichever way', async () => {
    const channel = new Channel<number>();
    const controller = new AbortController();
    const { signal } = controller;

    const send = channel.send(1, { signal });
    expect(abortListeners(signal)).toBe(1);
    await channel.receive();
    await send;
    expect(abortListeners(signal)).toBe(0);

    const receive = channel.receive({ signal });
    expect(abortListeners(signal)).toBe(1);
    await channel.send(2);
    await receive;
    expect(abortListeners(signal)).toBe(0);

    const closedReceive = channel.receive({ signal });
    const closedSend = new Channel<number>();
    const rejectedSend = closedSend.send(3, { signal });
    channel.close();
    closedSend.close();
    await closedReceive;
    await expect(rejectedSend).rejects.toBeInstanceOf(ChannelClosedError);
    expect(abortListeners(signal)).toBe(0);

    const other = new Channel<number>();
    const aborted = other.send(4, { signal });
    controller.abort();
    await expect(aborted).rejects.toBeDefined();
    expect(abortListeners(signal)).toBe(0);
  });

  it('keeps nothing per withdrawn operation over many cycles', async () => {
    const channel = new Channel<number>();
    for (let i = 0; i < 1000; i++) {
      const controller = new AbortController();
      const send = channel.send(i, { signal: controller.signal });
      const receive = channel.receive({ signal: AbortSignal.abort() }).catch(() => null);
      controller.abort();
      await expect(send).rejects.toBeDefined();
      await receive;
    }
    expect(channel.pendingSenders).toBe(0);
    expect(channel.pendingReceivers).toBe(0);
  });
});
