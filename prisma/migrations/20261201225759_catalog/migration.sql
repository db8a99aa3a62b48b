-- AlterTable
ALTER TABLE "update_server" ADD COLUMN     "lastSuccessAt" TIMESTAMP(3);

-- AlterTable
ALTER TABLE "image" ADD COLUMN     "activeStreams" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "bytesServed" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "offered" BOOLEAN NOT NULL DEFAULT true;

-- AlterTable
ALTER TABLE "image_version" ADD COLUMN     "blocked" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "label" TEXT,
ADD COLUMN     "osVersion" TEXT,
ADD COLUMN     "pinnedName" TEXT,
ADD COLUMN     "recommended" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "rootSha256" CHAR(64);
