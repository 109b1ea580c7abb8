/**
 * The controls' production bundles stay small and leave the platform libraries to the platform: each bundle
 * under 60 KB minified, React and Fluent taken from the platform's globals, no browser storage, no call to
 * Stripe's API. Needs `npm run build -w @stc/pcf-controls` (skipped otherwise, unless STC_REQUIRE_BROWSER=1).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describeWhen } from '@stc/testkit';
import { CONTROL_NAMES, CONTROLS as OUT, controlsRequirement } from './helpers';

describeWhen(controlsRequirement, 'built control bundles', () => {
  it.each(CONTROL_NAMES)('%s is under 60 KB and uses the platform React 16 and Fluent 8', (control) => {
    const file = join(OUT, control, 'bundle.js');
    const bundle = readFileSync(file, 'utf8');
    expect(statSync(file).size).toBeLessThan(60 * 1024);
    expect(bundle).toContain('Reactv16');
    expect(bundle).toContain('FluentUIReactv8290');
    // React's own source would bring its version string and internals.
    expect(bundle).not.toContain('__SECRET_INTERNALS_DO_NOT_USE_OR_YOU_WILL_BE_FIRED');
    expect(bundle).not.toMatch(/localStorage|sessionStorage/);
    expect(bundle).not.toContain('api.stripe.com');
    const manifest = readFileSync(join(OUT, control, 'ControlManifest.xml'), 'utf8');
    expect(manifest).toContain('<platform-library name="React" version="16.14.0"/>');
    expect(manifest).toContain('<platform-library name="Fluent" version="8.29.0"/>');
  });
});
