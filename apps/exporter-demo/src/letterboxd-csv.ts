import { rename, writeFile } from 'node:fs/promises';

function cell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV, as Letterboxd's importer reads it. */
export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | boolean | undefined)[])[],
): string {
  return [header, ...rows].map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
}

/** Writes a file whole or not at all: a crash mid-write never leaves a truncated export. */
export async function writeAtomic(path: string, content: string): Promise<void> {
  const temp = `${path}.${process.pid}.tmp`;
  await writeFile(temp, content);
  await rename(temp, path);
}
