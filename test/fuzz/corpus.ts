import { readdirSync, readFileSync } from 'node:fs';

/** The seed files of one fuzz target, test/fuzz/corpus/<target>/, sorted by name. */
export function corpusFiles(target: string, extension = '.bin'): Array<{ name: string; bytes: Buffer }> {
  const dir = new URL(`./corpus/${target}/`, import.meta.url);
  return readdirSync(dir)
    .filter((name) => name.endsWith(extension))
    .sort()
    .map((name) => ({ name, bytes: readFileSync(new URL(name, dir)) }));
}

/** The seeds of one target as byte arrays (optionally only the files whose name starts with `prefix`). */
export function corpusSeeds(target: string, prefix = ''): Uint8Array[] {
  return corpusFiles(target)
    .filter((f) => f.name.startsWith(prefix))
    .map((f) => new Uint8Array(f.bytes));
}

/** A JSON file of a target's corpus (keys, credentials). */
export function corpusJson<T>(target: string, name: string): T {
  return JSON.parse(readFileSync(new URL(`./corpus/${target}/${name}`, import.meta.url), 'utf8')) as T;
}
