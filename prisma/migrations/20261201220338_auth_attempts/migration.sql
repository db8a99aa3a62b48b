-- CreateEnum
CREATE TYPE "AuthAttemptKind" AS ENUM ('sign_in', 'password_change');

-- CreateTable
CREATE TABLE "auth_attempt" (
    "id" BIGSERIAL NOT NULL,
    "kind" "AuthAttemptKind" NOT NULL,
    "account" TEXT NOT NULL,
    "clientAddress" TEXT NOT NULL,
    "succeeded" BOOLEAN NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "auth_attempt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "auth_attempt_kind_account_at_idx" ON "auth_attempt"("kind", "account", "at");

-- CreateIndex
CREATE INDEX "auth_attempt_kind_clientAddress_at_idx" ON "auth_attempt"("kind", "clientAddress", "at");
