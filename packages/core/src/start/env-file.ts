// dotenv files for `--env-file` / `envFile`. Parsed here rather than with util.parseEnv, which only
// Node 20.12+ has and whose handling of `export ` and escapes moved between releases: one parser
// gives every supported Node the same variables.
import fs from 'node:fs';
import { Cluster2Error } from '../errors.js';

const LINE = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)?$/;

/** A double-quoted value's escapes, as dotenv reads them. */
function unescapeDoubleQuoted(value: string): string {
  return value.replace(/\\([nrt"\\])/g, (_match, char: string) => ({ n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\' })[char]!);
}

/** Index of the quote that closes a value, skipping `\"` inside double quotes; -1 when none. */
function closingQuote(body: string, quote: string): number {
  for (let i = 0; i < body.length; i++) {
    if (quote === '"' && body[i] === '\\') i++;
    else if (body[i] === quote) return i;
  }
  return -1;
}

/**
 * `KEY=VAL` lines; `#` starts a comment (whole line, or after an unquoted value and a space);
 * an optional `export ` prefix; values in single quotes are taken as they are, in double quotes
 * with `\n`, `\t`, `\"` and `\\` escapes, and may span lines; `KEY=` is the empty string.
 * A line that is none of these is an error naming the file and line: a typo should not vanish.
 */
export function parseEnvText(text: string, file: string): Record<string, string> {
  const env: Record<string, string> = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const match = LINE.exec(line);
    if (!match) {
      throw new Cluster2Error('ERR_CLUSTER2_INVALID_OPTION', `env file ${file}, line ${i + 1}: expected KEY=VALUE; received ${JSON.stringify(line)}`);
    }
    const key = match[1]!;
    let value = (match[2] ?? '').trim();
    const quote = value[0];
    if (quote === '"' || quote === "'" || quote === '`') {
      // A quoted value may continue over the next lines until its closing quote.
      const startLine = i;
      let body = value.slice(1);
      let end = closingQuote(body, quote);
      while (end === -1 && i + 1 < lines.length) {
        body += `\n${lines[++i]}`;
        end = closingQuote(body, quote);
      }
      if (end === -1) {
        throw new Cluster2Error('ERR_CLUSTER2_INVALID_OPTION', `env file ${file}, line ${startLine + 1}: ${key}'s value has no closing ${quote}`);
      }
      body = body.slice(0, end);
      value = quote === '"' ? unescapeDoubleQuoted(body) : body;
    } else {
      value = value.replace(/\s+#.*$/, '');
    }
    env[key] = value;
  }
  return env;
}

/** Reads and parses a dotenv file; a file that cannot be read is ERR_CLUSTER2_INVALID_OPTION naming `option` and the path. */
export function readEnvFile(file: string, option: string): Record<string, string> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Cluster2Error(
      'ERR_CLUSTER2_INVALID_OPTION',
      `option "${option}" must name a readable dotenv file; cannot read ${file}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return parseEnvText(text, file);
}
