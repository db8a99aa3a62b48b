// A rollout's devices a page at a time (a rollout may hold 10,000 of them), filtered by what they
// are doing in words (the same categories as the rollout page's counts), and its timeline of
// events, newest first, a page at a time.
import type { Prisma } from '@eos-fleet/db';
import { z } from 'zod';
import type { ServiceContext } from '../context';
import { AppError } from '../errors';
import {
  ALREADY_THERE,
  DEVICE_CATEGORIES,
  deviceView,
  rollbacksOf,
  type DeviceCategory,
} from './rollouts';

export const rolloutDevicesInput = z.object({
  rolloutId: z.uuid(),
  /** a category of deviceView (rollouts.ts): what the page's counts and filter call it */
  state: z.enum(DEVICE_CATEGORIES).optional(),
  /** part of the device's name */
  q: z.string().trim().max(100).optional(),
  page: z.int().min(1).max(100_000).default(1),
  pageSize: z.int().min(1).max(200).default(50),
});

const online: Prisma.DeviceWhereInput = { presence: { is: { online: true } } };

/** The rows deviceView puts in `category`, as a query (keep the two in step). */
function whereCategory(category: DeviceCategory): Prisma.RolloutDeviceWhereInput {
  switch (category) {
    case 'done':
      return { state: { in: ['succeeded', 'reverted'] } };
    case 'in_flight':
      return { OR: [{ state: 'soaking' }, { state: 'applying', device: online }] };
    case 'waiting':
      return {
        OR: [
          { state: { in: ['pending', 'scheduled'] } },
          { state: 'applying', device: { NOT: online } },
        ],
      };
    case 'failed':
      return { state: { in: ['failed', 'timed_out'] } };
    case 'excluded':
      return { state: 'skipped', skipReason: ALREADY_THERE };
    case 'cannot_converge':
      return {
        state: 'skipped',
        OR: [{ skipReason: null }, { skipReason: { not: ALREADY_THERE } }],
      };
  }
}

export async function listRolloutDevices(
  ctx: Pick<ServiceContext, 'db'>,
  raw: z.input<typeof rolloutDevicesInput>,
) {
  const input = rolloutDevicesInput.parse(raw);
  const rollout = await ctx.db.rollout.findUnique({
    where: { id: input.rolloutId },
    select: { state: true, stateReason: true },
  });
  if (!rollout) throw new AppError('NOT_FOUND', 'No such rollout.');
  const where: Prisma.RolloutDeviceWhereInput = {
    rolloutId: input.rolloutId,
    AND: [
      input.state ? whereCategory(input.state) : {},
      input.q ? { device: { name: { contains: input.q, mode: 'insensitive' } } } : {},
    ],
  };
  const [total, members] = await Promise.all([
    ctx.db.rolloutDevice.count({ where }),
    ctx.db.rolloutDevice.findMany({
      where,
      include: { device: { select: { name: true, presence: { select: { online: true } } } } },
      orderBy: [{ device: { name: 'asc' } }, { deviceId: 'asc' }],
      skip: (input.page - 1) * input.pageSize,
      take: input.pageSize,
    }),
  ]);
  const rollbacks = await rollbacksOf(ctx.db, members);
  return {
    rows: members.map((m) => deviceView(m, rollout, rollbacks.get(m.lastCommandId ?? ''))),
    total,
    page: input.page,
    pageSize: input.pageSize,
    pageCount: Math.max(1, Math.ceil(total / input.pageSize)),
  };
}

export const rolloutEventsInput = z.object({
  rolloutId: z.uuid(),
  limit: z.int().min(1).max(200).default(50),
  /** the last event id of the previous page */
  cursor: z.uuid().optional(),
});

export async function listRolloutEvents(
  ctx: Pick<ServiceContext, 'db'>,
  raw: z.input<typeof rolloutEventsInput>,
) {
  const input = rolloutEventsInput.parse(raw);
  const rows = await ctx.db.rolloutEvent.findMany({
    where: { rolloutId: input.rolloutId },
    orderBy: [{ at: 'desc' }, { id: 'desc' }],
    take: input.limit + 1,
    cursor: input.cursor ? { id: input.cursor } : undefined,
    skip: input.cursor ? 1 : 0,
  });
  const page = rows.slice(0, input.limit);
  return {
    items: page.map((e) => ({ id: e.id, at: e.at, message: e.message, deviceId: e.deviceId })),
    nextCursor: rows.length > input.limit ? (page.at(-1)?.id ?? null) : null,
  };
}
