-- AlterTable
ALTER TABLE "rollout_device" ADD COLUMN     "workloadsBefore" TEXT[] DEFAULT ARRAY[]::TEXT[];
