// The secret that signs session cookies: configured, or generated once and kept in the data dir
// (mode 0600) so sessions survive restarts.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export async function loadAuthSecret(dataDir: string, configured?: string): Promise<string> {
  if (configured) return configured;
  const file = path.join(dataDir, 'auth-secret');
  const existing = (await fs.readFile(file, 'utf8').catch(() => '')).trim();
  if (existing.length >= 32) return existing;
  await fs.mkdir(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('base64url');
  await fs.writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
