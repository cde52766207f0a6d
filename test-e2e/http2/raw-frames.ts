// A bare HTTP/2 client that writes frames by hand (RFC 9113 §4): what a misbehaving or hostile
// client sends and a well-behaved library never would (streams after a GOAWAY, floods, resets).
import net from 'node:net';

export const FRAME = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7 } as const;
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const ACK = 0x1;
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([header, payload]);
}

/**
 * GET `path` as an HPACK header block without Huffman coding or the dynamic table: indexed
 * :method GET (2) and :scheme http (6), literal :path (name 4) and :authority (name 1).
 */
function getHeaders(path: string): Buffer {
  const literal = (nameIndex: number, value: string) => Buffer.concat([Buffer.from([nameIndex, value.length]), Buffer.from(value, 'latin1')]);
  return Buffer.concat([Buffer.from([0x82, 0x86]), literal(0x04, path), literal(0x01, 'localhost')]);
}

export class RawH2Client {
  readonly socket: net.Socket;
  readonly frames: Frame[] = [];
  closed = false;
  #buffer = Buffer.alloc(0);

  /** `ackPings: false` plays a client that never answers the server's PING. */
  constructor(
    port: number,
    readonly ackPings = true,
  ) {
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.on('data', (chunk: Buffer) => this.#read(chunk));
    this.socket.on('error', () => {});
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.write(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
  }

  /** Opens stream `id` (odd, rising) with a GET of `path`. */
  get(id: number, path = '/'): void {
    this.write(frame(FRAME.HEADERS, END_STREAM | END_HEADERS, id, getHeaders(path)));
  }

  /** Opens stream `id` and resets it at once (CANCEL): the shape of a rapid-reset attack. */
  getAndReset(id: number): Buffer {
    const rst = Buffer.alloc(4);
    rst.writeUInt32BE(0x8, 0);
    return Buffer.concat([frame(FRAME.HEADERS, END_STREAM | END_HEADERS, id, getHeaders('/')), frame(FRAME.RST_STREAM, 0, id, rst)]);
  }

  ping(): Buffer {
    return frame(FRAME.PING, 0, 0, Buffer.alloc(8));
  }

  settings(): Buffer {
    return frame(FRAME.SETTINGS, 0, 0);
  }

  write(bytes: Buffer): boolean {
    return this.closed ? false : this.socket.write(bytes);
  }

  /** Frames of `type` (on `stream`, when given) received so far. */
  received(type: number, stream?: number): Frame[] {
    return this.frames.filter((f) => f.type === type && (stream === undefined || f.stream === stream));
  }

  /** The GOAWAY frames received: their last stream id and error code. */
  goaways(): { lastStreamId: number; code: number }[] {
    return this.received(FRAME.GOAWAY).map((f) => ({ lastStreamId: f.payload.readUInt32BE(0) & 0x7fffffff, code: f.payload.readUInt32BE(4) }));
  }

  /** Whether stream `id` got response headers. */
  answered(id: number): boolean {
    return this.received(FRAME.HEADERS, id).length > 0;
  }

  destroy(): void {
    this.socket.destroy();
  }

  #read(chunk: Buffer): void {
    this.#buffer = Buffer.concat([this.#buffer, chunk]);
    while (this.#buffer.length >= 9) {
      const length = this.#buffer.readUIntBE(0, 3);
      if (this.#buffer.length < 9 + length) return;
      const received: Frame = {
        type: this.#buffer[3]!,
        flags: this.#buffer[4]!,
        stream: this.#buffer.readUInt32BE(5) & 0x7fffffff,
        payload: this.#buffer.subarray(9, 9 + length),
      };
      this.#buffer = this.#buffer.subarray(9 + length);
      this.frames.push(received);
      if (received.type === FRAME.SETTINGS && !(received.flags & ACK)) this.write(frame(FRAME.SETTINGS, ACK, 0));
      if (received.type === FRAME.PING && !(received.flags & ACK) && this.ackPings) this.write(frame(FRAME.PING, ACK, 0, received.payload));
    }
  }
}
