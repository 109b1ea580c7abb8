/**
 * What the browser suites share: where Chromium and the built controls are, the skip-or-fail rule when either
 * is missing, and Chromium launched with the flags this machine allows.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { describeWhen, type Requirement } from '@stc/testkit';

export const CHROMIUM = '/usr/bin/chromium';
export const CONTROLS = join(__dirname, '..', '..', 'pcf-controls', 'out', 'controls');
export const SCREENSHOTS = join(__dirname, '..', '..', 'docs', 'screenshots');

export const CONTROL_NAMES = ['PaymentPanel', 'CustomerPanel'];
const BUILD_CONTROLS = 'npm run build -w @stc/pcf-controls (npm test does it when Chromium is installed)';
const controlsMissing = CONTROL_NAMES.some((c) => !existsSync(join(CONTROLS, c, 'bundle.js')))
  ? 'the PCF controls are not built'
  : null;

/** The built controls alone, for the suites that read the bundles without a browser. */
export const controlsRequirement: Requirement = {
  missing: controlsMissing,
  enable: BUILD_CONTROLS,
  requiredBy: 'STC_REQUIRE_BROWSER',
};

const missing = [!existsSync(CHROMIUM) && `${CHROMIUM} is not installed`, controlsMissing].filter(Boolean);

/** Chromium and the built controls; `npm test` builds the controls itself when Chromium is there. */
export const browserRequirement: Requirement = {
  missing: missing.length > 0 ? missing.join(' and ') : null,
  enable: existsSync(CHROMIUM) ? BUILD_CONTROLS : 'apt-get install chromium, then npm test',
  requiredBy: 'STC_REQUIRE_BROWSER',
};

/** `describe`, or a skipped one saying why when Chromium or the built controls are missing (fails in CI). */
export function describeBrowser(title: string, body: () => void): void {
  describeWhen(browserRequirement, title, body);
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}
