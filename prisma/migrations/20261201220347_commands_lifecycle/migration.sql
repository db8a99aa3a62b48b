-- AlterTable
ALTER TABLE "command" ADD COLUMN     "cancelRequestedAt" TIMESTAMP(3),
ADD COLUMN     "deliveredAt" TIMESTAMP(3),
ADD COLUMN     "deviceNotes" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "gateway_process" (
    "id" TEXT NOT NULL,
    "startedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "gateway_process_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "device_presence_gatewayId_idx" ON "device_presence"("gatewayId");
