// Which react-query queries a change notice makes stale (the topics: server/services/events/
// change-notices.ts). Keys are @trpc/tanstack-react-query's: [['devices', 'get'], { input, type }].
// A device's topic reaches every query about that device (its page, its commands); a list-level
// topic every query of that area. Over-invalidating costs a refetch of what is on screen only.

type Matcher = (path: readonly string[], input: Record<string, unknown> | undefined) => boolean;

const area =
  (...routers: string[]): Matcher =>
  (path) =>
    routers.includes(path[0] ?? '');

const aboutDevice =
  (deviceId: string | null): Matcher =>
  (path, input) =>
    (path[0] === 'devices' || (path[0] === 'rollouts' && path[1] === 'trace')) &&
    typeof input?.deviceId === 'string' &&
    (deviceId === null || input.deviceId === deviceId);

/** Every rollout view (list, page, devices, timeline, traces); a preview is the form's, not live. */
const rolloutViews: Matcher = (path) =>
  (path[0] === 'rollouts' && path[1] !== 'preview') || path[0] === 'fleet';

const oneCommand: Matcher = (path) => path[0] === 'devices' && path[1] === 'command';

/** What sums up many devices (the table's pages, the Overview): a device's change shows there too. */
const fleetViews: Matcher = (path) =>
  path[0] === 'fleet' || (path[0] === 'devices' && (path[1] === 'page' || path[1] === 'list'));

function matcherFor(topic: string): Matcher | null {
  if (topic === '*') return () => true;
  if (topic === 'devices') return area('devices', 'fleet');
  if (topic === 'catalog')
    return (path, input) =>
      area('catalog', 'fleet')(path, input) ||
      (path[0] === 'devices' && path[1] === 'applicableVersions');
  if (topic === 'audit') return area('audit');
  if (topic === 'rollouts') return rolloutViews;
  if (topic === 'settings') return area('operators', 'apiTokens', 'enrollment', 'account');
  const [kind, id] = topic.split(':');
  if (!id) return null;
  const deviceId = id === '*' ? null : id;
  if (kind === 'device')
    return (path, input) => aboutDevice(deviceId)(path, input) || fleetViews(path, input);
  if (kind === 'commands')
    return (path, input) =>
      aboutDevice(deviceId)(path, input) || oneCommand(path, input) || fleetViews(path, input);
  return null;
}

/** A predicate for `queryClient.invalidateQueries` that matches what any of `topics` names. */
export function queriesForTopics(topics: readonly string[]) {
  const matchers = topics.map(matcherFor).filter((matcher) => matcher !== null);
  return ({ queryKey }: { queryKey: readonly unknown[] }): boolean => {
    const [path, options] = queryKey as [unknown, unknown];
    if (!Array.isArray(path)) return false;
    const input = (options as { input?: unknown } | undefined)?.input;
    const record =
      input && typeof input === 'object' ? (input as Record<string, unknown>) : undefined;
    return matchers.some((matcher) => matcher(path as string[], record));
  };
}
