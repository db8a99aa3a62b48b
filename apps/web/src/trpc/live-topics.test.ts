import { describe, expect, it } from 'vitest';
import { queriesForTopics } from './live-topics';

const A = '6d1f5a7e-0000-4000-8000-00000000000a';
const B = '6d1f5a7e-0000-4000-8000-00000000000b';
// keys as @trpc/tanstack-react-query makes them
const KEYS = {
  list: [['devices', 'list'], { input: {}, type: 'query' }],
  page: [['devices', 'page'], { input: { filter: {} }, type: 'query' }],
  deviceA: [['devices', 'get'], { input: { deviceId: A }, type: 'query' }],
  commandsA: [['devices', 'commands'], { input: { deviceId: A }, type: 'infinite' }],
  deviceB: [['devices', 'get'], { input: { deviceId: B }, type: 'query' }],
  oneCommand: [['devices', 'command'], { input: { commandId: 'c1' }, type: 'query' }],
  versionsA: [['devices', 'applicableVersions'], { input: { deviceId: A }, type: 'query' }],
  overview: [['fleet', 'overview'], { type: 'query' }],
  images: [['catalog', 'images'], { type: 'query' }],
  audit: [['audit', 'list'], { input: {}, type: 'infinite' }],
  tokens: [['apiTokens', 'list'], { type: 'query' }],
  rollouts: [['rollouts', 'list'], { input: {}, type: 'query' }],
  rolloutDevices: [['rollouts', 'devices'], { input: { rolloutId: B }, type: 'query' }],
  rolloutPreview: [['rollouts', 'preview'], { input: { name: 'x' }, type: 'query' }],
  traceA: [['rollouts', 'trace'], { input: { deviceId: A }, type: 'query' }],
} as const;

function matched(topics: string[]) {
  const predicate = queriesForTopics(topics);
  return Object.entries(KEYS)
    .filter(([, queryKey]) => predicate({ queryKey }))
    .map(([name]) => name)
    .sort();
}

describe('which queries a notice makes stale', () => {
  it("a device topic: that device's queries and the views that sum up devices, not another device", () => {
    expect(matched([`device:${A}`])).toEqual([
      'commandsA',
      'deviceA',
      'list',
      'overview',
      'page',
      'traceA',
      'versionsA',
    ]);
  });
  it("the rollouts topic: every rollout view and the Overview, not a form's preview", () => {
    expect(matched(['rollouts'])).toEqual(['overview', 'rolloutDevices', 'rollouts', 'traceA']);
  });
  it('a device commands topic: its queries, the open command views and the summaries', () => {
    expect(matched([`commands:${A}`])).toEqual([
      'commandsA',
      'deviceA',
      'list',
      'oneCommand',
      'overview',
      'page',
      'traceA',
      'versionsA',
    ]);
  });
  it('the list-level topic: every device and fleet query', () => {
    expect(matched(['devices'])).toEqual([
      'commandsA',
      'deviceA',
      'deviceB',
      'list',
      'oneCommand',
      'overview',
      'page',
      'versionsA',
    ]);
  });
  it('catalog: the catalog and what depends on it', () => {
    expect(matched(['catalog'])).toEqual(['images', 'overview', 'versionsA']);
  });
  it('audit and settings name their own areas; `*` everything; nonsense nothing', () => {
    expect(matched(['audit'])).toEqual(['audit']);
    expect(matched(['settings'])).toEqual(['tokens']);
    expect(matched(['*'])).toHaveLength(Object.keys(KEYS).length);
    expect(matched(['device:', 'bogus'])).toEqual([]);
  });
});
