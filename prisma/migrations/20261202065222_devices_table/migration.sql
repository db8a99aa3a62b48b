-- CreateEnum
CREATE TYPE "DeviceUpdateState" AS ENUM ('none', 'in_progress', 'stuck', 'failed', 'succeeded', 'cancelled');

-- AlterTable
ALTER TABLE "device" ADD COLUMN     "updateCommandId" UUID,
ADD COLUMN     "updateDeadlineAt" TIMESTAMP(3),
ADD COLUMN     "updateState" "DeviceUpdateState" NOT NULL DEFAULT 'none',
ADD COLUMN     "updateStateAt" TIMESTAMP(3);

-- CreateIndex
CREATE INDEX "device_status_name_idx" ON "device"("status", "name");

-- CreateIndex
CREATE INDEX "device_updateState_idx" ON "device"("updateState");

-- CreateIndex
CREATE INDEX "device_imageName_idx" ON "device"("imageName");

-- CreateIndex
CREATE INDEX "device_labels_idx" ON "device" USING GIN ("labels" jsonb_ops);

-- Backfill: each device's newest apply or rollback command (the mapping of command-lifecycle.ts)
UPDATE "device" d SET
  "updateCommandId" = c."id",
  "updateDeadlineAt" = c."deadlineAt",
  "updateStateAt" = c."updatedAt",
  "updateState" = (CASE
    WHEN c."state" IN ('queued', 'delivered', 'downloading', 'rebooting', 'verifying') THEN 'in_progress'
    WHEN c."state" = 'timed_out' THEN 'stuck'
    WHEN c."state" IN ('failed', 'rolled_back') THEN 'failed'
    WHEN c."state" = 'succeeded' THEN 'succeeded'
    ELSE 'cancelled' END)::"DeviceUpdateState"
FROM (
  SELECT DISTINCT ON ("deviceId") * FROM "command"
  WHERE "kind" IN ('apply', 'rollback')
  ORDER BY "deviceId", "createdAt" DESC
) c
WHERE c."deviceId" = d."id";
