/** The workspaces depend on each other without a cycle, and the product never depends on its test support. */
import path from 'node:path';
import { findCycle, reachable, readWorkspaceGraph, type WorkspaceGraph } from './workspace-graph';

const graph = readWorkspaceGraph(path.resolve(__dirname, '../..'));

test('the workspace dependency graph has no cycle', () => {
  expect(findCycle(graph)).toBeUndefined();
});

test('the emulators and the test support never depend on the service, the service never on the sandbox', () => {
  expect(reachable(graph, '@stc/emulators')).not.toContain('@stc/service');
  expect(reachable(graph, '@stc/testkit')).not.toContain('@stc/service');
  expect(reachable(graph, '@stc/service')).not.toContain('@stc/sandbox');
});

test('a cycle is found and named, however long', () => {
  const cyclic: WorkspaceGraph = new Map([
    ['@stc/a', ['@stc/b']],
    ['@stc/b', ['@stc/c']],
    ['@stc/c', ['@stc/a']],
    ['@stc/d', []],
  ]);
  expect(findCycle(cyclic)).toEqual(['@stc/a', '@stc/b', '@stc/c', '@stc/a']);
  expect(findCycle(new Map([['@stc/a', ['@stc/a']]]))).toEqual(['@stc/a', '@stc/a']);
  expect(
    findCycle(
      new Map([
        ['@stc/a', ['@stc/b']],
        ['@stc/b', []],
      ]),
    ),
  ).toBeUndefined();
});

test('every workspace is read, with its dependencies on other workspaces', () => {
  expect(graph.get('@stc/service')).toEqual(['@stc/emulators', '@stc/solution', '@stc/testkit']);
  expect(graph.get('@stc/emulators')).toEqual(['@stc/solution']);
  expect(graph.get('@stc/sandbox')).toEqual(['@stc/emulators', '@stc/service', '@stc/solution']);
});
