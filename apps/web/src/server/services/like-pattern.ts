// Prisma's `contains` / `startsWith` put the value into a LIKE pattern without escaping it, so a
// search for "50%" would match "5000" and "_" any character. PostgreSQL's LIKE escapes with "\" by
// default: escaping "\", "%" and "_" makes the value match only itself.
export function likeLiteral(value: string): string {
  return value.replace(/[\\%_]/g, (character) => `\\${character}`);
}
