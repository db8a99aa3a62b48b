-- AlterEnum
ALTER TYPE "RolloutState" ADD VALUE 'failed';

-- AlterEnum
-- This migration adds more than one value to an enum.
-- With PostgreSQL versions 11 and earlier, this is not possible
-- in a single migration. This can be worked around by creating
-- multiple migrations, each migration adding only one value to
-- the enum.


ALTER TYPE "RolloutDeviceState" ADD VALUE 'soaking';
ALTER TYPE "RolloutDeviceState" ADD VALUE 'reverted';

-- AlterTable
ALTER TABLE "rollout" DROP COLUMN "batchPercent",
DROP COLUMN "batchSize",
DROP COLUMN "gate",
DROP COLUMN "soakSeconds",
ADD COLUMN     "disruptionBudget" JSONB,
ADD COLUMN     "failureMinSample" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "failureThresholdCount" INTEGER,
ADD COLUMN     "pinnedRootBytes" BIGINT NOT NULL,
ADD COLUMN     "pinnedRootSha256" CHAR(64) NOT NULL,
ADD COLUMN     "rollbackOnAbort" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "stateReason" TEXT,
ALTER COLUMN "failureThresholdPercent" DROP NOT NULL,
ALTER COLUMN "failureThresholdPercent" DROP DEFAULT;

-- AlterTable
ALTER TABLE "rollout_batch" ADD COLUMN     "count" INTEGER,
ADD COLUMN     "gate" "RolloutGate" NOT NULL DEFAULT 'automatic',
ADD COLUMN     "percent" INTEGER,
ADD COLUMN     "selector" JSONB,
ADD COLUMN     "soakSeconds" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "rollout_device" ADD COLUMN     "previousRootPrefixHash" CHAR(40),
ADD COLUMN     "soakUntil" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "rollout_event" (
    "id" UUID NOT NULL,
    "rolloutId" UUID NOT NULL,
    "deviceId" UUID,
    "message" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "rollout_event_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "rollout_event_rolloutId_at_idx" ON "rollout_event"("rolloutId", "at");

-- CreateIndex
CREATE INDEX "rollout_device_deviceId_idx" ON "rollout_device"("deviceId");

-- AddForeignKey
ALTER TABLE "rollout_event" ADD CONSTRAINT "rollout_event_rolloutId_fkey" FOREIGN KEY ("rolloutId") REFERENCES "rollout"("id") ON DELETE CASCADE ON UPDATE CASCADE;
