// Chromium for the dashboard test and the docs' screenshot: the machine's own browser (never a
// downloaded one), driven by playwright-core.
import { execFileSync } from 'node:child_process';
import { chromium } from 'playwright-core';

/** Debian's chromium, found on PATH. */
export function chromiumPath() {
  return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim();
}

/** @returns {Promise<import('playwright-core').Browser>} */
export function launchChromium() {
  return chromium.launch({
    executablePath: chromiumPath(),
    // No --user-data-dir: playwright refuses it in args and makes its own temporary profile.
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
}
