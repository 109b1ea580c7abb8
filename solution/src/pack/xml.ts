/**
 * A minimal XML writer. The solution schema is order-sensitive (xs:sequence) and mixes attributes with
 * repeated child elements; building the tree as calls in document order keeps that order visible in the
 * code, which an object-to-XML mapper would hide.
 */
export interface XmlElement {
  name: string;
  attributes: Record<string, string | number | undefined>;
  children: XmlNode[];
}
export type XmlNode = XmlElement | string;

type Child = XmlNode | null | undefined | false | Child[];

export function el(
  name: string,
  attributes: XmlElement['attributes'] = {},
  ...children: Child[]
): XmlElement {
  const flat: XmlNode[] = [];
  const add = (child: Child): void => {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach(add);
    else flat.push(child);
  };
  children.forEach(add);
  return { name, attributes, children: flat };
}

/** An element holding only text (`<Type>nvarchar</Type>`). */
export function text(
  name: string,
  value: string | number,
  attributes: XmlElement['attributes'] = {},
): XmlElement {
  return el(name, attributes, String(value));
}

export function escapeXml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function renderAttributes(attributes: XmlElement['attributes']): string {
  return Object.entries(attributes)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => ` ${key}="${escapeXml(String(value))}"`)
    .join('');
}

function render(node: XmlElement, indent: string, out: string[]): void {
  const open = `${indent}<${node.name}${renderAttributes(node.attributes)}`;
  if (node.children.length === 0) {
    out.push(`${open} />`);
    return;
  }
  if (node.children.every((child) => typeof child === 'string')) {
    out.push(`${open}>${node.children.map((child) => escapeXml(child as string)).join('')}</${node.name}>`);
    return;
  }
  out.push(`${open}>`);
  for (const child of node.children) {
    if (typeof child === 'string') out.push(`${indent}  ${escapeXml(child)}`);
    else render(child, `${indent}  `, out);
  }
  out.push(`${indent}</${node.name}>`);
}

export function renderDocument(root: XmlElement): string {
  const out = ['<?xml version="1.0" encoding="utf-8"?>'];
  render(root, '', out);
  return `${out.join('\n')}\n`;
}

/** `<X><x description="…" languagecode="1033" /></X>`, the localized label shape used throughout. */
export function labels(container: string, item: string, description: string): XmlElement {
  return el(container, {}, el(item, { description, languagecode: 1033 }));
}
