// All writes to the agent's state directory go through here. Invariant: a state file is either
// its old or its new content, never a torn mix, even across power loss (the project's one
// atomic-write helper: temp file, fsync, rename, fsync the directory).
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '@eos-fleet/shared/atomic-write';
import { type z } from 'zod';

export class StateFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

export class StateStore {
  constructor(readonly dir: string) {}

  async ensureDir(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  /** The parsed file, or null when it does not exist. A corrupt file is an error, not "absent". */
  async readJson<S extends z.ZodType>(name: string, schema: S): Promise<z.infer<S> | null> {
    const file = this.path(name);
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new StateFileError(file, 'is not valid JSON');
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success)
      throw new StateFileError(file, `has an unexpected shape: ${parsed.error.message}`);
    return parsed.data;
  }

  async writeJson(name: string, value: unknown, mode = 0o600): Promise<void> {
    await this.writeAtomic(name, JSON.stringify(value, null, 2) + '\n', mode);
  }

  async writeAtomic(name: string, content: string, mode = 0o600): Promise<void> {
    await writeFileAtomic(this.path(name), content, mode);
  }
}
