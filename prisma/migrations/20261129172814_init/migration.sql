-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "OperatorRole" AS ENUM ('admin', 'operator', 'viewer');

-- CreateEnum
CREATE TYPE "FetchStatus" AS ENUM ('unknown', 'fetching', 'ok', 'error');

-- CreateEnum
CREATE TYPE "DeviceStatus" AS ENUM ('pending', 'accepted', 'rejected', 'decommissioned');

-- CreateEnum
CREATE TYPE "CommandKind" AS ENUM ('check', 'apply', 'rollback', 'flake.register', 'flake.remove', 'flake.pull', 'inventory.refresh');

-- CreateEnum
CREATE TYPE "CommandState" AS ENUM ('queued', 'delivered', 'downloading', 'rebooting', 'verifying', 'succeeded', 'failed', 'timed_out', 'rolled_back', 'cancelled');

-- CreateEnum
CREATE TYPE "RolloutState" AS ENUM ('draft', 'scheduled', 'running', 'paused', 'completed', 'aborted');

-- CreateEnum
CREATE TYPE "RolloutGate" AS ENUM ('automatic', 'manual');

-- CreateEnum
CREATE TYPE "RolloutFailureAction" AS ENUM ('pause', 'abort');

-- CreateEnum
CREATE TYPE "RolloutBatchState" AS ENUM ('pending', 'running', 'soaking', 'awaiting_approval', 'succeeded', 'failed');

-- CreateEnum
CREATE TYPE "RolloutDeviceState" AS ENUM ('pending', 'scheduled', 'applying', 'succeeded', 'failed', 'skipped', 'timed_out');

-- CreateEnum
CREATE TYPE "ActorType" AS ENUM ('operator', 'device', 'system');

-- CreateTable
CREATE TABLE "operator" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "email" TEXT NOT NULL,
    "emailVerified" BOOLEAN NOT NULL DEFAULT false,
    "image" TEXT,
    "role" "OperatorRole" NOT NULL DEFAULT 'viewer',
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "mustChangePassword" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "operator_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "session" (
    "id" TEXT NOT NULL,
    "token" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "ipAddress" TEXT,
    "userAgent" TEXT,
    "userId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "account" (
    "id" TEXT NOT NULL,
    "accountId" TEXT NOT NULL,
    "providerId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "accessToken" TEXT,
    "refreshToken" TEXT,
    "idToken" TEXT,
    "accessTokenExpiresAt" TIMESTAMP(3),
    "refreshTokenExpiresAt" TIMESTAMP(3),
    "scope" TEXT,
    "password" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "account_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "verification" (
    "id" TEXT NOT NULL,
    "identifier" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "verification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "update_server" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "sshTarget" TEXT NOT NULL,
    "sshPort" INTEGER NOT NULL DEFAULT 22,
    "httpUrl" TEXT NOT NULL,
    "catalogTokenSealed" TEXT,
    "reachable" BOOLEAN,
    "lastPolledAt" TIMESTAMP(3),
    "lastError" TEXT,
    "bytesServed" BIGINT NOT NULL DEFAULT 0,
    "activeStreams" INTEGER NOT NULL DEFAULT 0,
    "maxConcurrentApplies" INTEGER NOT NULL DEFAULT 25,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "update_server_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "image" (
    "id" UUID NOT NULL,
    "updateServerId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "sourceUrl" TEXT,
    "arch" TEXT,
    "profile" TEXT,
    "fetchStatus" "FetchStatus" NOT NULL DEFAULT 'unknown',
    "lastFetchError" TEXT,
    "lastFetchedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "image_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "image_version" (
    "id" UUID NOT NULL,
    "imageId" UUID NOT NULL,
    "rootPrefixHash" CHAR(40) NOT NULL,
    "imageSha1" CHAR(40) NOT NULL,
    "rootPartitionSize" BIGINT NOT NULL,
    "firmwarePartitionSize" BIGINT,
    "arch" TEXT,
    "profile" TEXT,
    "available" BOOLEAN NOT NULL DEFAULT true,
    "current" BOOLEAN NOT NULL DEFAULT false,
    "firstSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "image_version_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "status" "DeviceStatus" NOT NULL DEFAULT 'pending',
    "publicKey" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "facts" JSONB NOT NULL DEFAULT '{}',
    "rootPrefixHash" CHAR(40),
    "activeSlot" TEXT,
    "slotSize" BIGINT,
    "imageName" TEXT,
    "arch" TEXT,
    "profile" TEXT,
    "osRelease" JSONB,
    "bootId" TEXT,
    "commitPending" BOOLEAN NOT NULL DEFAULT false,
    "flakes" JSONB NOT NULL DEFAULT '[]',
    "stateDiskFree" BIGINT,
    "agentVersion" TEXT,
    "updateServerId" UUID,
    "enrollmentTokenId" UUID,
    "lastSeenAt" TIMESTAMP(3),
    "inventoryAt" TIMESTAMP(3),
    "acceptedAt" TIMESTAMP(3),
    "decommissionedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "device_presence" (
    "deviceId" UUID NOT NULL,
    "online" BOOLEAN NOT NULL DEFAULT false,
    "gatewayId" TEXT,
    "connectedAt" TIMESTAMP(3),
    "lastSeenAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "device_presence_pkey" PRIMARY KEY ("deviceId")
);

-- CreateTable
CREATE TABLE "enrollment_token" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "tokenPrefix" TEXT NOT NULL,
    "labels" JSONB NOT NULL DEFAULT '{}',
    "autoAccept" BOOLEAN NOT NULL DEFAULT false,
    "expiresAt" TIMESTAMP(3),
    "maxUses" INTEGER,
    "uses" INTEGER NOT NULL DEFAULT 0,
    "revokedAt" TIMESTAMP(3),
    "createdById" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "enrollment_token_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "command" (
    "id" UUID NOT NULL,
    "deviceId" UUID NOT NULL,
    "kind" "CommandKind" NOT NULL,
    "params" JSONB NOT NULL DEFAULT '{}',
    "state" "CommandState" NOT NULL DEFAULT 'queued',
    "result" JSONB,
    "progress" JSONB,
    "errorCode" TEXT,
    "error" TEXT,
    "deadlineAt" TIMESTAMP(3) NOT NULL,
    "sendCount" INTEGER NOT NULL DEFAULT 0,
    "lastSentAt" TIMESTAMP(3),
    "ackedAt" TIMESTAMP(3),
    "completedAt" TIMESTAMP(3),
    "createdById" TEXT,
    "rolloutId" UUID,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "command_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "command_event" (
    "id" BIGSERIAL NOT NULL,
    "commandId" UUID NOT NULL,
    "state" "CommandState",
    "message" TEXT,
    "data" JSONB,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "command_event_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rollout" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "imageVersionId" UUID NOT NULL,
    "pinnedRootPrefixHash" CHAR(40) NOT NULL,
    "state" "RolloutState" NOT NULL DEFAULT 'draft',
    "target" JSONB NOT NULL,
    "dynamic" BOOLEAN NOT NULL DEFAULT false,
    "batchSize" INTEGER,
    "batchPercent" INTEGER,
    "soakSeconds" INTEGER NOT NULL DEFAULT 0,
    "gate" "RolloutGate" NOT NULL DEFAULT 'automatic',
    "successThresholdPercent" INTEGER NOT NULL DEFAULT 100,
    "failureThresholdPercent" INTEGER NOT NULL DEFAULT 10,
    "failureAction" "RolloutFailureAction" NOT NULL DEFAULT 'pause',
    "deviceTimeoutSeconds" INTEGER NOT NULL DEFAULT 3600,
    "maxRetries" INTEGER NOT NULL DEFAULT 0,
    "retryBackoffSeconds" INTEGER NOT NULL DEFAULT 300,
    "maxConcurrentPerServer" INTEGER,
    "startAt" TIMESTAMP(3),
    "maintenanceWindow" JSONB,
    "createdById" TEXT,
    "startedAt" TIMESTAMP(3),
    "completedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "rollout_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rollout_batch" (
    "id" UUID NOT NULL,
    "rolloutId" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "state" "RolloutBatchState" NOT NULL DEFAULT 'pending',
    "startedAt" TIMESTAMP(3),
    "soakUntil" TIMESTAMP(3),
    "completedAt" TIMESTAMP(3),
    "approvedById" TEXT,

    CONSTRAINT "rollout_batch_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rollout_device" (
    "id" UUID NOT NULL,
    "rolloutId" UUID NOT NULL,
    "deviceId" UUID NOT NULL,
    "batchIndex" INTEGER,
    "state" "RolloutDeviceState" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lastCommandId" UUID,
    "skipReason" TEXT,
    "lastError" TEXT,
    "nextAttemptAt" TIMESTAMP(3),
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "rollout_device_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_event" (
    "id" BIGSERIAL NOT NULL,
    "action" TEXT NOT NULL,
    "actorType" "ActorType" NOT NULL,
    "actorId" TEXT,
    "actorLabel" TEXT,
    "targetType" TEXT NOT NULL,
    "targetId" TEXT,
    "data" JSONB,
    "ipAddress" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "operator_email_key" ON "operator"("email");

-- CreateIndex
CREATE UNIQUE INDEX "session_token_key" ON "session"("token");

-- CreateIndex
CREATE INDEX "session_userId_idx" ON "session"("userId");

-- CreateIndex
CREATE INDEX "account_userId_idx" ON "account"("userId");

-- CreateIndex
CREATE INDEX "verification_identifier_idx" ON "verification"("identifier");

-- CreateIndex
CREATE UNIQUE INDEX "update_server_name_key" ON "update_server"("name");

-- CreateIndex
CREATE UNIQUE INDEX "image_updateServerId_name_key" ON "image"("updateServerId", "name");

-- CreateIndex
CREATE INDEX "image_version_rootPrefixHash_idx" ON "image_version"("rootPrefixHash");

-- CreateIndex
CREATE UNIQUE INDEX "image_version_imageId_rootPrefixHash_key" ON "image_version"("imageId", "rootPrefixHash");

-- CreateIndex
CREATE UNIQUE INDEX "device_publicKey_key" ON "device"("publicKey");

-- CreateIndex
CREATE INDEX "device_status_idx" ON "device"("status");

-- CreateIndex
CREATE INDEX "device_rootPrefixHash_idx" ON "device"("rootPrefixHash");

-- CreateIndex
CREATE INDEX "device_presence_online_idx" ON "device_presence"("online");

-- CreateIndex
CREATE UNIQUE INDEX "enrollment_token_tokenHash_key" ON "enrollment_token"("tokenHash");

-- CreateIndex
CREATE INDEX "command_deviceId_state_idx" ON "command"("deviceId", "state");

-- CreateIndex
CREATE INDEX "command_state_deadlineAt_idx" ON "command"("state", "deadlineAt");

-- CreateIndex
CREATE INDEX "command_event_commandId_id_idx" ON "command_event"("commandId", "id");

-- CreateIndex
CREATE INDEX "rollout_state_idx" ON "rollout"("state");

-- CreateIndex
CREATE UNIQUE INDEX "rollout_batch_rolloutId_index_key" ON "rollout_batch"("rolloutId", "index");

-- CreateIndex
CREATE INDEX "rollout_device_rolloutId_state_idx" ON "rollout_device"("rolloutId", "state");

-- CreateIndex
CREATE UNIQUE INDEX "rollout_device_rolloutId_deviceId_key" ON "rollout_device"("rolloutId", "deviceId");

-- CreateIndex
CREATE INDEX "audit_event_createdAt_idx" ON "audit_event"("createdAt");

-- CreateIndex
CREATE INDEX "audit_event_targetType_targetId_idx" ON "audit_event"("targetType", "targetId");

-- AddForeignKey
ALTER TABLE "session" ADD CONSTRAINT "session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "operator"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "account" ADD CONSTRAINT "account_userId_fkey" FOREIGN KEY ("userId") REFERENCES "operator"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "image" ADD CONSTRAINT "image_updateServerId_fkey" FOREIGN KEY ("updateServerId") REFERENCES "update_server"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "image_version" ADD CONSTRAINT "image_version_imageId_fkey" FOREIGN KEY ("imageId") REFERENCES "image"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device" ADD CONSTRAINT "device_updateServerId_fkey" FOREIGN KEY ("updateServerId") REFERENCES "update_server"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device" ADD CONSTRAINT "device_enrollmentTokenId_fkey" FOREIGN KEY ("enrollmentTokenId") REFERENCES "enrollment_token"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "device_presence" ADD CONSTRAINT "device_presence_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "device"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "command" ADD CONSTRAINT "command_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "device"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "command_event" ADD CONSTRAINT "command_event_commandId_fkey" FOREIGN KEY ("commandId") REFERENCES "command"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rollout" ADD CONSTRAINT "rollout_imageVersionId_fkey" FOREIGN KEY ("imageVersionId") REFERENCES "image_version"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rollout_batch" ADD CONSTRAINT "rollout_batch_rolloutId_fkey" FOREIGN KEY ("rolloutId") REFERENCES "rollout"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rollout_device" ADD CONSTRAINT "rollout_device_rolloutId_fkey" FOREIGN KEY ("rolloutId") REFERENCES "rollout"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rollout_device" ADD CONSTRAINT "rollout_device_deviceId_fkey" FOREIGN KEY ("deviceId") REFERENCES "device"("id") ON DELETE CASCADE ON UPDATE CASCADE;
