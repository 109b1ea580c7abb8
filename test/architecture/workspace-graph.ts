/**
 * The workspace dependency graph, read from the root package.json's workspaces and each workspace's
 * package.json (dependencies, devDependencies, peerDependencies and optionalDependencies alike: npm links them
 * all, and a cycle through any of them ties the packages together).
 */
import fs from 'node:fs';
import path from 'node:path';

export type WorkspaceGraph = Map<string, string[]>;

const DEPENDENCY_FIELDS = ['dependencies', 'devDependencies', 'peerDependencies', 'optionalDependencies'];

export function readWorkspaceGraph(rootDir: string): WorkspaceGraph {
  const root = JSON.parse(fs.readFileSync(path.join(rootDir, 'package.json'), 'utf8'));
  const manifests = (root.workspaces as string[]).map((dir) =>
    JSON.parse(fs.readFileSync(path.join(rootDir, dir, 'package.json'), 'utf8')),
  );
  const names = new Set(manifests.map((m) => m.name as string));
  const graph: WorkspaceGraph = new Map();
  for (const manifest of manifests) {
    const deps = DEPENDENCY_FIELDS.flatMap((field) => Object.keys(manifest[field] ?? {}));
    graph.set(manifest.name, [...new Set(deps.filter((dep) => names.has(dep)))].sort());
  }
  return graph;
}

/** One cycle as the path `a → b → … → a`, or undefined when the graph has none. */
export function findCycle(graph: WorkspaceGraph): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === 'done') return undefined;
    if (state.get(node) === 'open') return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, 'done');
    return undefined;
  };
  for (const node of graph.keys()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Every workspace `from` reaches through its dependencies (not itself unless through a cycle). */
export function reachable(graph: WorkspaceGraph, from: string): Set<string> {
  const seen = new Set<string>();
  const todo = [...(graph.get(from) ?? [])];
  while (todo.length > 0) {
    const next = todo.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    todo.push(...(graph.get(next) ?? []));
  }
  return seen;
}
