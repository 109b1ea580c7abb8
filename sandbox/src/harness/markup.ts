/** What the harness pages share: HTML escaping and the parser of the solution's XML. */
import { XMLParser } from 'fast-xml-parser';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Attributes under `@name`, every element an array: the shape the form and dashboard readers walk. */
export const solutionXml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});
