import type WebSocket from 'ws';

/**
 * A ws message as text. ws hands a text frame over as a Buffer by default, but its type also allows
 * an ArrayBuffer or Buffer fragments: each is decoded, so a message never reads "[object ArrayBuffer]".
 */
export function wsText(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString();
  if (Buffer.isBuffer(data)) return data.toString();
  return Buffer.from(data).toString();
}
