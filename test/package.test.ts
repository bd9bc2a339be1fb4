import { readFileSync } from 'node:fs';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

interface Lock {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[] }>;
}

const read = (file: string) => JSON.parse(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'));

describe('package-lock.json', () => {
  // npm ci warns EBADENGINE for every locked package whose engines exclude the running Node; the oldest
  // Node we promise (package.json engines) must install without one (issue #14).
  it('holds no package that refuses the oldest Node package.json accepts', () => {
    const oldest = semver.minVersion(read('package.json').engines.node)?.version;
    expect(oldest).toBe('20.19.0');
    const lock = read('package-lock.json') as Lock;
    const refusing = Object.entries(lock.packages)
      .filter(([path]) => path !== '')
      .flatMap(([path, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        return range !== undefined && !semver.satisfies(oldest as string, range)
          ? [`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${range}`]
          : [];
      });
    expect(refusing).toEqual([]);
  });
});
