import { describe, expect, it } from 'vitest';
import { ObjectCache } from './cache.ts';
import { diffReplace, LineSplitter } from './informer.ts';

// The informer's loop is tested against a real API server (test/integration/runtime-informer.test.ts); these are
// its pure parts.

const cm = (name: string, rv: string) => ({ metadata: { namespace: 'ns', name, resourceVersion: rv } });

describe('diffReplace', () => {
  it('reports added, changed and vanished objects, and nothing for unchanged ones', () => {
    const cache = new ObjectCache<ReturnType<typeof cm>>();
    cache.set('ns/same', cm('same', '1'));
    cache.set('ns/changed', cm('changed', '1'));
    cache.set('ns/gone', cm('gone', '1'));
    const fresh = new Map([
      ['ns/same', cm('same', '1')],
      ['ns/changed', cm('changed', '5')],
      ['ns/new', cm('new', '6')],
    ]);
    const { events, deleted } = diffReplace(cache, fresh);
    expect(deleted).toEqual(['ns/gone']);
    expect(events.map((e) => [e.type, e.object.metadata.name])).toEqual([
      ['updated', 'changed'],
      ['added', 'new'],
      ['deleted', 'gone'],
    ]);
    expect(events[0]!.old?.metadata.resourceVersion).toBe('1');
  });
});

describe('LineSplitter', () => {
  it('joins lines split across chunks, including inside a multi-byte character', () => {
    const s = new LineSplitter();
    const bytes = new TextEncoder().encode('{"a":"é"}\n{"b":1}\n\n{"c"');
    expect(s.push(bytes.slice(0, 7))).toEqual([]);
    expect(s.push(bytes.slice(7, 12))).toEqual(['{"a":"é"}']);
    expect(s.push(bytes.slice(12))).toEqual(['{"b":1}']);
    expect(s.push(new TextEncoder().encode(':2}\n'))).toEqual(['{"c":2}']);
  });
});
