import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { collapseTopics, decodeTopics, encodeTopics, MAX_PAYLOAD_BYTES } from './change-notices';

describe('change notice payloads', () => {
  it('sends a few topics as they are, once each', () => {
    const id = randomUUID();
    expect(collapseTopics(['devices', `device:${id}`, 'devices', 'audit'])).toEqual([
      'devices',
      `device:${id}`,
      'audit',
    ]);
  });

  it('lets `*` swallow everything', () => {
    expect(collapseTopics(['catalog', '*', `device:${randomUUID()}`])).toEqual(['*']);
  });

  it('collapses per-device topics into wildcards when the payload would be too long', () => {
    const topics = Array.from({ length: 500 }, () => [
      `device:${randomUUID()}`,
      `commands:${randomUUID()}`,
    ]).flat();
    const collapsed = collapseTopics(['devices', ...topics, 'catalog']);
    expect(collapsed.sort()).toEqual(['catalog', 'commands:*', 'device:*', 'devices']);
    expect(Buffer.byteLength(encodeTopics(collapsed))).toBeLessThan(MAX_PAYLOAD_BYTES);
  });

  it('reads back what it wrote and refuses what it would not write', () => {
    const id = randomUUID();
    expect(decodeTopics(encodeTopics(['devices', `commands:${id}`]))).toEqual([
      'devices',
      `commands:${id}`,
    ]);
    expect(decodeTopics('not json')).toBeNull();
    expect(decodeTopics('["devices","drop table"]')).toBeNull();
    expect(decodeTopics('{"topics":[]}')).toBeNull();
  });
});
