-- CreateTable
CREATE TABLE "online_sample" (
    "minute" TIMESTAMP(3) NOT NULL,
    "online" INTEGER NOT NULL,
    "devices" INTEGER NOT NULL,

    CONSTRAINT "online_sample_pkey" PRIMARY KEY ("minute")
);

-- CreateIndex
CREATE INDEX "command_deviceId_createdAt_idx" ON "command"("deviceId", "createdAt");

-- CreateIndex
CREATE INDEX "command_completedAt_idx" ON "command"("completedAt");
