import { XMLParser } from 'fast-xml-parser';

/** Parses solution XML into trees the tests walk: attributes under `@name`, every element an array. */
export const xmlTree = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});
