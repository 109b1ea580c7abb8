/**
 * The few facts the harness needs from a built control's ControlManifest.xml (as pcf-scripts writes it): its
 * name, properties, stylesheets and string files. Read with patterns: the file is machine-written and small.
 */
export interface ControlProperty {
  name: string;
  ofType: string;
  usage: string;
  defaultValue?: string;
}

export interface ControlManifestInfo {
  namespace: string;
  constructor: string;
  properties: ControlProperty[];
  css: string[];
  resx: string[];
  platformLibraries: Array<{ name: string; version: string }>;
}

function attributes(tag: string): Record<string, string> {
  // No prototype: a manifest attribute named `constructor` must not meet Object.prototype.constructor.
  const found: Record<string, string> = Object.create(null);
  for (const match of tag.matchAll(/([\w-]+)="([^"]*)"/g)) found[match[1]] = match[2];
  return found;
}

/** Reads an attribute by a computed name, so that `constructor` is typed as the attribute it is. */
function attribute(found: Record<string, string>, name: string): string | undefined {
  return found[name];
}

function tags(xml: string, name: string): Record<string, string>[] {
  return [...xml.matchAll(new RegExp(`<${name}\\s[^>]*>`, 'g'))].map((m) => attributes(m[0]));
}

export function parseControlManifest(xml: string): ControlManifestInfo {
  const control = tags(xml, 'control')[0];
  const constructorName = control ? attribute(control, 'constructor') : undefined;
  if (!control?.namespace || !constructorName) {
    throw new Error(
      'ControlManifest.xml has no <control namespace=… constructor=…>: is this a built PCF control?',
    );
  }
  return {
    namespace: control.namespace,
    constructor: constructorName,
    properties: tags(xml, 'property').map((p) => ({
      name: p.name,
      ofType: p['of-type'],
      usage: p.usage,
      defaultValue: p['default-value'],
    })),
    css: tags(xml, 'css').map((c) => c.path),
    resx: tags(xml, 'resx').map((r) => r.path),
    platformLibraries: tags(xml, 'platform-library').map((l) => ({ name: l.name, version: l.version })),
  };
}

/** `<data name="k"><value>v</value></data>` pairs of a .resx file. */
export function parseResx(xml: string): Record<string, string> {
  const strings: Record<string, string> = {};
  for (const match of xml.matchAll(/<data\s+name="([^"]+)"[^>]*>\s*<value>([\s\S]*?)<\/value>/g)) {
    strings[match[1]] = match[2]
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&apos;/g, "'")
      .replace(/&amp;/g, '&');
  }
  return strings;
}
