// The catalog end to end: real PostgreSQL, the real update server (@eos-fleet/update-server)
// publishing real generated EOS images (@eos-fleet/image), the tRPC procedures as operators call
// them, and a simulated agent to see the apply frame a device gets.
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { TRPCError } from '@trpc/server';
import { startUpdateServer, type RunningUpdateServer } from '@eos-fleet/update-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  FLEET_IMAGE_NAME,
  startFleetUpdateServer,
  type FleetUpdateServer,
} from '../../cli/testbed-fleet';
import { enroll, newIdentity } from '../../gateway/testing/simulated-agent';
import { createTestApp } from '../../testing/test-app';
import { SYSTEM_ACTOR } from '../context';
import { createEnrollmentToken } from '../enrollment/enrollment-tokens';
import { pollUpdateServer } from './poll-update-server';
import { openCatalogToken } from './seal-catalog-token';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
const APP_SECRET = 'test-secret-test-secret-test-secret-123';
const TOKEN = 'fleet-catalog-token';

async function failure(call: Promise<unknown>): Promise<TRPCError> {
  const error = await call.then(
    () => null,
    (caught: unknown) => caught,
  );
  if (!(error instanceof TRPCError)) throw new Error(`expected a TRPCError, got ${String(error)}`);
  return error;
}

/** A tiny HTTP server answering every request with `handler`. */
async function fakeCatalog(handler: http.RequestListener) {
  const server = http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('the catalog: update servers, polling, versions, apply by version', () => {
  let app: TestApp;
  let web: Awaited<ReturnType<TestApp['listen']>>;
  let work: string;
  let fleet: FleetUpdateServer;
  let admin: Awaited<ReturnType<TestApp['addOperator']>>;
  let operator: Awaited<ReturnType<TestApp['addOperator']>>;
  let viewer: Awaited<ReturnType<TestApp['addOperator']>>;
  let serverId: string;

  beforeAll(async () => {
    work = await fs.mkdtemp(path.join(os.tmpdir(), 'eos-fleet-catalog-'));
    [app, fleet] = await Promise.all([createTestApp(), startFleetUpdateServer(work)]);
    web = await app.listen();
    admin = await app.addOperator('admin');
    operator = await app.addOperator('operator');
    viewer = await app.addOperator('viewer');
  });
  afterAll(async () => {
    await web?.close();
    await fleet?.updateServer.stop();
    await app?.close();
    await fs.rm(work, { recursive: true, force: true });
  });

  it('registers an update server; the catalog token is sealed and never returned', async () => {
    await expect(
      app.callerFor(operator).catalog.addUpdateServer({
        name: 'nope',
        sshTarget: 'ec2-user@127.0.0.1',
        httpUrl: 'http://127.0.0.1:1',
        catalogToken: TOKEN,
      }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const bad = await failure(
      app.callerFor(admin).catalog.addUpdateServer({
        name: 'x',
        sshTarget: 'no user',
        sshPort: 70_000,
        httpUrl: 'ftp://x',
        catalogToken: 'short',
      }),
    );
    expect(bad.code).toBe('BAD_REQUEST');
    expect(bad.message).toMatch(/sshPort: At most 65,535/);
    // the field errors are in words too, for the form to show at the field
    expect(bad.message).toMatch(/sshTarget: Must be user@host/);
    const shortToken = await failure(
      app.callerFor(admin).catalog.addUpdateServer({
        name: 'x',
        sshTarget: 'a@b',
        httpUrl: 'http://127.0.0.1:1',
        catalogToken: 'short',
      }),
    );
    expect(shortToken.message).toMatch(/catalogToken.*16 characters/s);

    const created = await app.callerFor(admin).catalog.addUpdateServer({
      name: 'lab',
      sshTarget: 'ec2-user@127.0.0.1',
      sshPort: fleet.updateServer.sshPort,
      httpUrl: `http://127.0.0.1:${fleet.updateServer.httpPort}`,
      catalogToken: TOKEN,
      maxConcurrentApplies: 5,
    });
    serverId = created.id;
    const listed = await app.callerFor(viewer).catalog.updateServers();
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      name: 'lab',
      hasCatalogToken: true,
      maxConcurrentApplies: 5,
    });
    expect(JSON.stringify(listed)).not.toContain(TOKEN);
    const row = await app.db.updateServer.findUniqueOrThrow({ where: { id: serverId } });
    expect(row.catalogTokenSealed).not.toContain(TOKEN);
    expect(openCatalogToken(APP_SECRET, row.catalogTokenSealed ?? '')).toBe(TOKEN);
    expect(
      openCatalogToken('another-secret-another-secret-123', row.catalogTokenSealed ?? ''),
    ).toBe(null);
    const audit = await app.db.auditEvent.findMany({ where: { targetType: 'update_server' } });
    expect(audit.map((event) => event.action)).toEqual(['update_server.created']);
    expect(JSON.stringify(audit.map((event) => event.data))).not.toContain(TOKEN);
    await expect(
      app.callerFor(admin).catalog.addUpdateServer({
        name: 'lab',
        sshTarget: 'a@b',
        httpUrl: 'http://127.0.0.1:1',
        catalogToken: TOKEN,
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('polls the real catalog: images, versions with both hashes and sizes, traffic', async () => {
    const outcome = await app.callerFor(operator).catalog.pollNow({ updateServerId: serverId });
    expect(outcome).toMatchObject({ outcome: 'polled', reachable: true, images: 2, versions: 2 });
    const [server] = await app.callerFor(viewer).catalog.updateServers();
    expect(server).toMatchObject({ reachable: true, stale: false, lastError: null });
    expect(server?.lastPolledAt).toBeInstanceOf(Date);
    const images = await app.callerFor(viewer).catalog.images();
    const byName = new Map(images.map((image) => [image.name, image]));
    const current = byName.get(FLEET_IMAGE_NAME);
    expect(current).toMatchObject({
      fetchStatus: 'ok',
      arch: 'x86_64',
      profile: 'AB',
      offered: true,
    });
    expect(current?.versions).toHaveLength(1);
    expect(current?.versions[0]).toMatchObject({
      rootPrefixHash: fleet.v2.rootPrefixHash,
      rootSha256: fleet.v2.rootSha256,
      imageSha1: fleet.v2.sha1,
      rootPartitionSize: fleet.v2.root.size,
      pinnedName: `${FLEET_IMAGE_NAME}@${fleet.v2.rootPrefixHash}`,
      available: true,
      current: true,
      blocked: false,
      recommended: false,
    });
    expect(byName.get(`${FLEET_IMAGE_NAME}-1.0`)?.versions[0]?.rootPrefixHash).toBe(
      fleet.v1.rootPrefixHash,
    );
    // a second poll changes nothing but the times
    await app.callerFor(operator).catalog.pollNow({ updateServerId: serverId });
    expect(await app.db.imageVersion.count()).toBe(2);
  });

  it('a poll that finds a poll running on another process skips; the interval poll skips a recent one', async () => {
    const skipped = await pollUpdateServer(app.db, serverId, {
      appSecret: APP_SECRET,
      minAgeMs: 60_000,
    });
    expect(skipped).toEqual({ outcome: 'skipped', reason: 'recent' });
    // hold the server's lock as another process would while it polls
    let release = () => {};
    const held = app.db.$transaction(async (tx) => {
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`eos-fleet.catalog-poll:${serverId}`}, 0))`;
      await new Promise<void>((resolve) => (release = resolve));
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await pollUpdateServer(app.db, serverId, { appSecret: APP_SECRET })).toEqual({
      outcome: 'skipped',
      reason: 'busy',
    });
    release();
    await held;
  });

  it('an edit changes what it names, keeps the sealed token unless one replaces it, and the audit says what changed', async () => {
    const caller = app.callerFor(admin);
    await expect(
      app.callerFor(operator).catalog.editUpdateServer({ updateServerId: serverId, sshPort: 2 }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const tooLong = await failure(
      caller.catalog.editUpdateServer({ updateServerId: serverId, name: 'n'.repeat(101) }),
    );
    expect(tooLong).toMatchObject({ code: 'BAD_REQUEST' });
    expect(tooLong.message).toMatch(/name: At most 100 characters \(this has 101\)/);
    const before = await app.db.updateServer.findUniqueOrThrow({ where: { id: serverId } });
    const since = new Date();

    // no token in the edit: the sealed one stays, byte for byte
    await caller.catalog.editUpdateServer({
      updateServerId: serverId,
      name: 'lab-renamed',
      sshTarget: 'root@127.0.0.1',
      maxConcurrentApplies: 7,
    });
    const kept = await app.db.updateServer.findUniqueOrThrow({ where: { id: serverId } });
    expect(kept).toMatchObject({
      name: 'lab-renamed',
      sshTarget: 'root@127.0.0.1',
      sshPort: before.sshPort,
      maxConcurrentApplies: 7,
      catalogTokenSealed: before.catalogTokenSealed,
    });
    const [edited] = await app.db.auditEvent.findMany({
      where: { action: 'update_server.updated', targetId: serverId, createdAt: { gte: since } },
    });
    expect(edited?.data).toEqual({
      name: 'lab-renamed',
      changed: {
        name: { from: before.name, to: 'lab-renamed' },
        sshTarget: { from: before.sshTarget, to: 'root@127.0.0.1' },
        maxConcurrentApplies: { from: before.maxConcurrentApplies, to: 7 },
      },
    });

    // a new token is sealed anew (never stored or audited in the clear), the old one is gone
    const replacement = 'replacement-token-0123456789';
    await caller.catalog.editUpdateServer({ updateServerId: serverId, catalogToken: replacement });
    const replaced = await app.db.updateServer.findUniqueOrThrow({ where: { id: serverId } });
    expect(replaced.catalogTokenSealed).not.toBe(before.catalogTokenSealed);
    expect(replaced.catalogTokenSealed).not.toContain(replacement);
    expect(openCatalogToken(APP_SECRET, replaced.catalogTokenSealed ?? '')).toBe(replacement);
    const events = await app.db.auditEvent.findMany({
      where: { action: 'update_server.updated', targetId: serverId, createdAt: { gte: since } },
      orderBy: { createdAt: 'asc' },
    });
    expect(events.at(-1)?.data).toMatchObject({ catalogToken: 'replaced', changed: {} });
    expect(JSON.stringify(events.map((event) => event.data))).not.toContain(replacement);
    // a name taken by another server is refused at the name field
    const other = await caller.catalog.addUpdateServer({
      name: 'other',
      sshTarget: 'a@b',
      httpUrl: 'http://127.0.0.1:1',
      catalogToken: TOKEN,
    });
    const taken = await caller.catalog
      .editUpdateServer({ updateServerId: serverId, name: 'other' })
      .then(
        () => null,
        (error: unknown) => error as { code: string; cause?: { field?: string } },
      );
    expect(taken).toMatchObject({ code: 'CONFLICT', cause: { field: 'name' } });
    await caller.catalog.removeUpdateServer({ updateServerId: other.id });

    // back as it was
    await caller.catalog.editUpdateServer({
      updateServerId: serverId,
      name: before.name,
      sshTarget: before.sshTarget,
      maxConcurrentApplies: before.maxConcurrentApplies,
      catalogToken: TOKEN,
    });
    expect(await caller.catalog.pollNow({ updateServerId: serverId })).toMatchObject({
      reachable: true,
    });
  });

  it('names each version by the image’s own os-release version until an operator labels it', async () => {
    const images = await app.callerFor(viewer).catalog.images();
    const byHash = new Map(
      images.flatMap((image) => image.versions).map((v) => [v.rootPrefixHash, v]),
    );
    expect(byHash.get(fleet.v1.rootPrefixHash)).toMatchObject({
      osVersion: '1.0.0',
      label: '1.0.0',
    });
    expect(byHash.get(fleet.v2.rootPrefixHash)).toMatchObject({
      osVersion: '2.0.0',
      label: '2.0.0',
    });
  });

  it('a wrong token, a redirect, a huge answer and a dead server are errors in words; the last catalog stays, marked stale', async () => {
    const caller = app.callerFor(admin);
    const poll = () => app.callerFor(admin).catalog.pollNow({ updateServerId: serverId });
    await caller.catalog.editUpdateServer({
      updateServerId: serverId,
      catalogToken: 'x'.repeat(20),
    });
    expect(await poll()).toMatchObject({ reachable: false, error: expect.stringMatching(/token/) });

    const redirect = await fakeCatalog((_req, res) => {
      res.writeHead(302, { location: 'http://example.invalid/api/v1/catalog' }).end();
    });
    const huge = await fakeCatalog((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"images":[${'"x",'.repeat(3_000_000)}"x"]}`);
    });
    try {
      await caller.catalog.editUpdateServer({ updateServerId: serverId, httpUrl: redirect.url });
      expect(await poll()).toMatchObject({
        error: expect.stringMatching(/redirects are not followed/),
      });
      await caller.catalog.editUpdateServer({ updateServerId: serverId, httpUrl: huge.url });
      expect(await poll()).toMatchObject({ error: expect.stringMatching(/larger than/) });
    } finally {
      await redirect.close();
      await huge.close();
    }
    await caller.catalog.editUpdateServer({ updateServerId: serverId, httpUrl: redirect.url });
    expect(await poll()).toMatchObject({ error: expect.stringMatching(/cannot reach/) });
    const [server] = await app.callerFor(viewer).catalog.updateServers();
    expect(server).toMatchObject({ reachable: false, stale: true });
    expect(server?.lastError).toMatch(/cannot reach/);
    const images = await app.callerFor(viewer).catalog.images();
    expect(images.flatMap((image) => image.versions).filter((v) => v.available)).toHaveLength(2);

    // back to the real server and token
    await caller.catalog.editUpdateServer({
      updateServerId: serverId,
      httpUrl: `http://127.0.0.1:${fleet.updateServer.httpPort}`,
      catalogToken: TOKEN,
    });
    expect(await poll()).toMatchObject({ reachable: true });
    const audit = await app.db.auditEvent.findMany({ where: { action: 'update_server.updated' } });
    expect(audit.length).toBeGreaterThanOrEqual(5);
    expect(JSON.stringify(audit.map((event) => event.data))).not.toContain(TOKEN);
  });

  describe('with a second server that keeps one version', () => {
    let second: RunningUpdateServer;
    let secondId: string;
    const yml = () => path.join(work, 'second', 'os-update.yml');
    async function publish(version: 'v1' | 'v2') {
      await fs.writeFile(
        yml(),
        stringify({
          update: [
            { image: pathToFileURL(fleet[version].path).href, name: `${FLEET_IMAGE_NAME}.raw` },
          ],
        }),
      );
      await second.fetchNow();
    }

    beforeAll(async () => {
      await fs.mkdir(path.join(work, 'second'), { recursive: true });
      await fs.writeFile(yml(), stringify({ update: [] }));
      second = await startUpdateServer({
        osUpdateYml: yml(),
        publishDir: path.join(work, 'second', 'os-images'),
        stateDir: path.join(work, 'second', 'state'),
        fetchOnStart: false,
        keepVersions: 1,
        catalogToken: TOKEN,
        http: { host: '127.0.0.1', port: 0 },
        ssh: { host: '127.0.0.1', port: 0, authorizedKeysFile: path.join(work, 'authorized_keys') },
        logLevel: 'warn',
      });
      await publish('v1');
      secondId = (
        await app.callerFor(admin).catalog.addUpdateServer({
          name: 'edge',
          sshTarget: 'ec2-user@edge.example',
          httpUrl: `http://127.0.0.1:${second.httpPort}`,
          catalogToken: TOKEN,
        })
      ).id;
    });
    afterAll(async () => {
      await second?.stop();
    });

    it('a version the server pruned ages out: kept, no longer offered', async () => {
      const poll = () => app.callerFor(operator).catalog.pollNow({ updateServerId: secondId });
      expect(await poll()).toMatchObject({ reachable: true, versions: 1 });
      await publish('v2');
      expect(await poll()).toMatchObject({ reachable: true, versions: 1 });
      const [image] = (
        await app.callerFor(viewer).catalog.images({ name: FLEET_IMAGE_NAME })
      ).filter((candidate) => candidate.updateServer.id === secondId);
      const state = Object.fromEntries(
        (image?.versions ?? []).map((v) => [
          v.rootPrefixHash,
          { available: v.available, current: v.current },
        ]),
      );
      expect(state).toEqual({
        [fleet.v1.rootPrefixHash]: { available: false, current: false },
        [fleet.v2.rootPrefixHash]: { available: true, current: true },
      });
    });

    it('labels, recommended (one per image name, across servers) and blocked', async () => {
      const caller = app.callerFor(operator);
      const versions = (await caller.catalog.images({ name: FLEET_IMAGE_NAME })).flatMap((image) =>
        image.versions.map((version) => ({ ...version, serverId: image.updateServer.id })),
      );
      const labV2 = versions.find((v) => v.serverId === serverId && v.available);
      const edgeV2 = versions.find((v) => v.serverId === secondId && v.available);
      const edgeV1 = versions.find((v) => v.serverId === secondId && !v.available);
      if (!labV2 || !edgeV2 || !edgeV1) throw new Error('versions missing');

      await expect(
        app.callerFor(viewer).catalog.labelVersion({ imageVersionId: labV2.id, label: '2.0.0' }),
      ).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(
        (await failure(caller.catalog.labelVersion({ imageVersionId: labV2.id, label: 'a\u0000' })))
          .code,
      ).toBe('BAD_REQUEST');
      // the image's own version named it; an operator may clear and set it
      expect(labV2.label).toBe('2.0.0');
      await caller.catalog.labelVersion({ imageVersionId: labV2.id, label: '' });
      await caller.catalog.labelVersion({ imageVersionId: labV2.id, label: '2.0.0' });

      await caller.catalog.setRecommended({ imageVersionId: labV2.id, value: true });
      await caller.catalog.setRecommended({ imageVersionId: edgeV2.id, value: true });
      const recommended = await app.db.imageVersion.findMany({ where: { recommended: true } });
      expect(recommended.map((v) => v.id)).toEqual([edgeV2.id]);
      expect(
        (await failure(caller.catalog.setRecommended({ imageVersionId: edgeV1.id, value: true })))
          .message,
      ).toMatch(/no longer offers/);

      await caller.catalog.setBlocked({ imageVersionId: edgeV2.id, value: true });
      expect(
        await app.db.imageVersion.findUniqueOrThrow({ where: { id: edgeV2.id } }),
      ).toMatchObject({
        blocked: true,
        recommended: false,
      });
      expect(
        (await failure(caller.catalog.setRecommended({ imageVersionId: edgeV2.id, value: true })))
          .message,
      ).toMatch(/blocked version cannot be recommended/);
      await caller.catalog.setRecommended({ imageVersionId: labV2.id, value: true });

      const actions = (
        await app.db.auditEvent.findMany({
          where: { targetType: 'image_version' },
          orderBy: { id: 'asc' },
        })
      ).map((event) => event.action);
      expect(actions).toEqual([
        'image_version.labelled',
        'image_version.labelled',
        'image_version.recommended',
        'image_version.recommended',
        'image_version.blocked',
        'image_version.recommended',
      ]);
    });

    it("resolves each device's version and update server; out of date against the recommended one", async () => {
      const device = (name: string, rootPrefixHash: string | null, server: string | null) =>
        app.db.device.create({
          data: {
            name,
            publicKey: `${name}-key`,
            status: 'accepted',
            rootPrefixHash,
            imageName: FLEET_IMAGE_NAME,
            facts: { updateServer: server },
          },
        });
      const onV1 = await device('on-v1', fleet.v1.rootPrefixHash, 'ec2-user@127.0.0.1');
      const onV2 = await device('on-v2', fleet.v2.rootPrefixHash, 'ec2-user@EDGE.example');
      const unknown = await device('odd', 'f'.repeat(40), 'someone@10.9.9.9');
      await app.callerFor(operator).catalog.labelVersion({
        imageVersionId: (
          await app.db.imageVersion.findFirstOrThrow({
            where: { rootPrefixHash: fleet.v1.rootPrefixHash, image: { updateServerId: serverId } },
          })
        ).id,
        label: '1.0.0',
      });
      const list = await app.callerFor(viewer).devices.list({});
      const row = (id: string) => list.find((candidate) => candidate.id === id);
      expect(row(onV1.id)).toMatchObject({
        runningVersion: `${FLEET_IMAGE_NAME}-1.0 1.0.0`,
        outOfDate: true,
        recommendedVersion: { displayName: `${FLEET_IMAGE_NAME} 2.0.0` },
        registeredUpdateServer: { id: serverId, name: 'lab' },
        updateServerProblem: null,
      });
      // the same content is on both servers: named as the device's own server has it
      expect(row(onV2.id)).toMatchObject({
        outOfDate: false,
        registeredUpdateServer: { id: secondId, name: 'edge' },
      });
      // (the edge's copy is named by the image's own os-release version: nobody labelled it)
      expect(row(onV2.id)?.runningVersion).toBe(`${FLEET_IMAGE_NAME} 2.0.0`);
      expect(row(unknown.id)).toMatchObject({
        runningVersion: 'unknown build',
        registeredUpdateServer: null,
        updateServerProblem: 'no registered update server has the SSH target someone@10.9.9.9',
      });
      expect(await app.callerFor(viewer).devices.get({ deviceId: onV1.id })).toMatchObject({
        runningVersion: `${FLEET_IMAGE_NAME}-1.0 1.0.0`,
        outOfDate: true,
      });
      await app.db.device.deleteMany({ where: { id: { in: [onV1.id, onV2.id, unknown.id] } } });
    });
  });

  it('applies a picked version pinned to its content; blocked and too big are refused', async () => {
    const token = (
      await createEnrollmentToken(
        { db: app.db, actor: SYSTEM_ACTOR },
        { name: 'auto', autoAccept: true },
      )
    ).token;
    const identity = newIdentity();
    const connection = await enroll(web.baseUrl, identity, token);
    await connection.next('welcome');
    const deviceId = identity.deviceId;
    await app.db.device.update({
      where: { id: deviceId },
      data: {
        rootPrefixHash: fleet.v1.rootPrefixHash,
        imageName: FLEET_IMAGE_NAME,
        slotSize: BigInt(fleet.v2.root.size),
        facts: { updateServer: 'ec2-user@127.0.0.1' },
      },
    });
    const caller = app.callerFor(operator);
    const offered = await caller.devices.applicableVersions({ deviceId });
    expect(offered.updateServer?.id).toBe(serverId);
    expect(offered.versions.map((v) => v.imageName)).toEqual([
      FLEET_IMAGE_NAME,
      `${FLEET_IMAGE_NAME}-1.0`,
    ]);
    const v2 = offered.versions[0];
    if (!v2) throw new Error('no version offered');
    expect(v2).toMatchObject({ fits: true, running: false, label: '2.0.0', recommended: true });

    const command = await caller.devices.applyVersion({ deviceId, imageVersionId: v2.id });
    const frame = await connection.next('command');
    expect(frame.id).toBe(command.id);
    expect(frame.params).toMatchObject({
      expectedRootPrefixHash: fleet.v2.rootPrefixHash,
      expectedRootSha256: fleet.v2.rootSha256,
      expectedRootBytes: fleet.v2.root.size,
      imageName: `${FLEET_IMAGE_NAME}@${fleet.v2.rootPrefixHash}`,
    });

    await app.db.device.update({
      where: { id: deviceId },
      data: { slotSize: BigInt(fleet.v2.root.size - 512) },
    });
    expect((await caller.devices.applicableVersions({ deviceId })).versions[0]?.fits).toBe(false);
    const tooBig = await failure(caller.devices.applyVersion({ deviceId, imageVersionId: v2.id }));
    expect(tooBig.code).toBe('PRECONDITION_FAILED');
    expect(tooBig.message).toMatch(/does not fit/);

    await caller.catalog.setBlocked({ imageVersionId: v2.id, value: true });
    expect(
      (await caller.devices.applicableVersions({ deviceId })).versions.map((v) => v.id),
    ).not.toContain(v2.id);
    const blocked = await failure(caller.devices.applyVersion({ deviceId, imageVersionId: v2.id }));
    expect(blocked.code).toBe('PRECONDITION_FAILED');
    expect(blocked.message).toMatch(/blocked/);
    await expect(
      app.callerFor(viewer).devices.applyVersion({ deviceId, imageVersionId: v2.id }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
    connection.close();
  });
});
