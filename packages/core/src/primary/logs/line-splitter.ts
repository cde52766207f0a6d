import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts a byte stream into whole lines. A pipe delivers whatever the kernel had: a chunk may end in
 * the middle of a line, or of a UTF-8 character; both are held until the rest arrives. A line
 * longer than `maxLength` is passed on in pieces of that size, so one endless line cannot grow the
 * master without bound.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #maxLength: number;
  #partial = '';

  constructor(maxLength: number) {
    this.#maxLength = maxLength;
  }

  /** The whole lines `chunk` completes, without their newlines. */
  push(chunk: Buffer): string[] {
    const text = this.#partial + this.#decoder.write(chunk);
    const lines: string[] = [];
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      this.#take(lines, text.slice(start, end > start && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end));
      start = end + 1;
    }
    this.#partial = text.slice(start);
    while (this.#partial.length > this.#maxLength) {
      lines.push(this.#partial.slice(0, this.#maxLength));
      this.#partial = this.#partial.slice(this.#maxLength);
    }
    return lines;
  }

  /** The last line, when the stream ended without a newline; none otherwise. */
  end(): string[] {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    const lines: string[] = [];
    if (rest !== '') this.#take(lines, rest);
    return lines;
  }

  #take(lines: string[], line: string): void {
    if (line.length <= this.#maxLength) {
      lines.push(line);
      return;
    }
    for (let i = 0; i < line.length; i += this.#maxLength) lines.push(line.slice(i, i + this.#maxLength));
  }
}
