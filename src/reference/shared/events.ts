/**
 * What the worker sends the handler through the channel (the seed's `tooltypes.StreamEvent`), and how
 * the handler writes it to the client as Server-Sent Events.
 */

export type StreamEvent =
  | { type: 'token'; payload: string }
  | { type: 'done'; payload: { tokens: number } }
  | { type: 'error'; payload: string };

/**
 * `event: <type>\ndata: <json>\n\n` (gin's `c.SSEvent(type, payload)`). The data is JSON so a token that
 * contains a newline cannot break the framing.
 */
export function encodeSse(event: StreamEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(sseData(event))}\n\n`;
}

function sseData(event: StreamEvent): unknown {
  switch (event.type) {
    case 'token':
      return { content: event.payload };
    case 'done':
      return event.payload;
    case 'error':
      return { message: event.payload };
  }
}
