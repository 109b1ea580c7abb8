/**
 * What the browser suites share: where Chromium and the built controls are, the skip-or-fail rule when either
 * is missing, and Chromium launched with the flags this machine allows.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
export const CONTROLS = join(__dirname, '..', '..', 'pcf-controls', 'out', 'controls');
export const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');

const missing = [
  !existsSync(CHROMIUM) && `${CHROMIUM} is not installed`,
  !existsSync(join(CONTROLS, 'PaymentPanel', 'bundle.js')) &&
    'controls are not built (npm run build -w @stc/pcf-controls)',
].filter(Boolean);
if (missing.length > 0 && process.env.STC_REQUIRE_BROWSER === '1')
  throw new Error(`Browser tests cannot run: ${missing.join('; ')}`);
if (missing.length > 0) console.warn(`Skipping browser tests: ${missing.join('; ')}`);

/** `describe`, or `describe.skip` when Chromium or the built controls are missing (and CI did not require them). */
export const describeBrowser = missing.length > 0 ? describe.skip : describe;

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
