/** Where the CLI writes; `process` fits, tests pass collectors. */
export interface CliIo {
  stdout: { write(chunk: string): unknown };
  stderr: { write(chunk: string): unknown };
}
