import { access, constants, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { CreateEgress, EgressHttp } from '../sfu/egress-backend.ts';

/**
 * Loads packages/egress (EGRESS_ENABLED) with a dynamic import(), after checking that what it needs
 * is installed: its own npm packages (packages/egress/node_modules, installed by
 * `npm run setup:egress`, never by the core install) and Debian's ffmpeg and ffprobe on PATH.
 * The core never imports packages/egress statically: a core install without it runs as before.
 */

/** The repository's packages/egress, found from this file (src/roles/) whatever the working directory. */
export const EGRESS_PACKAGE_URL = new URL('../../packages/egress/', import.meta.url);

/** The programs egress runs (transcoding, probing); Debian's `ffmpeg` package brings both. */
const PROGRAMS = ['ffmpeg', 'ffprobe'];

export interface EgressLoadOptions {
  /** packages/egress (default EGRESS_PACKAGE_URL). */
  packageDir?: string;
  /** Where to look for ffmpeg and ffprobe (a PATH value). */
  searchPath: string;
}

/** Egress is enabled but not installed: `problems` says what is missing, `commands` what to run. */
export class EgressNotInstalledError extends Error {
  readonly problems: string[];
  readonly commands: string[];

  constructor(problems: string[], commands: string[]) {
    super(
      'egress is enabled (EGRESS_ENABLED=true or --egress) but not installed:\n' +
        `${problems.map((p) => `  - ${p}`).join('\n')}\n` +
        'Run, from the repository root:\n' +
        `${commands.map((c) => `  ${c}`).join('\n')}\n` +
        'or start without egress (EGRESS_ENABLED=false).',
    );
    this.name = 'EgressNotInstalledError';
    this.problems = problems;
    this.commands = commands;
  }
}

/**
 * Checks the egress install, then imports `<packageDir>/src/index.ts` and returns its
 * `createEgress`. Throws EgressNotInstalledError when something is missing, and an Error when the
 * module does not export `createEgress`.
 */
export async function loadEgress(options: EgressLoadOptions): Promise<CreateEgress> {
  const dir = options.packageDir ?? fileURLToPath(EGRESS_PACKAGE_URL);
  await checkEgressInstall({ ...options, packageDir: dir });
  const entry = path.join(dir, 'src', 'index.ts');
  // Checked first: a missing entry point says so, instead of a module resolution error.
  if (!(await isFile(entry))) {
    throw new Error(`the egress entry point ${shown(entry)} is missing: this version cannot run egress`);
  }
  const loaded: unknown = await import(pathToFileURL(entry).href);
  const createEgress = (loaded as { createEgress?: unknown }).createEgress;
  if (typeof createEgress !== 'function') throw new Error(`${shown(entry)} does not export createEgress`);
  return createEgress as CreateEgress;
}

/** Throws EgressNotInstalledError naming what is missing and what to run; resolves when nothing is. */
export async function checkEgressInstall(options: EgressLoadOptions): Promise<void> {
  const dir = options.packageDir ?? fileURLToPath(EGRESS_PACKAGE_URL);
  const missingPrograms = await missingFromPath(PROGRAMS, options.searchPath);
  const problems = [
    ...(await packageProblems(dir)),
    ...(missingPrograms.length > 0 ? [`not found on PATH: ${missingPrograms.join(', ')}`] : []),
  ];
  if (problems.length > 0) throw new EgressNotInstalledError(problems, setupCommands(missingPrograms));
}

/**
 * Wraps createEgress so the role can mount egress's HTTP side before the SFU has called it: until
 * then, or when it failed, `/egress/` answers 503 and its WebSocket upgrades are refused.
 */
export function deferredEgressHttp(create: CreateEgress): { create: CreateEgress; http: EgressHttp } {
  let current: EgressHttp | undefined;
  return {
    create: async (options) => {
      const created = await create(options);
      current = created.http;
      return created;
    },
    http: {
      handle(req, res) {
        if (current) return current.handle(req, res);
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '1' });
        res.end('egress is not running');
      },
      upgrade: (req, socket, head) => current?.upgrade(req, socket, head) ?? false,
    },
  };
}

/**
 * What to run: setup:egress installs the npm packages, and Debian's ffmpeg too when it runs as root
 * (otherwise it stops and asks for this apt-get command).
 */
function setupCommands(missingPrograms: string[]): string[] {
  const npm = 'npm run setup:egress';
  if (missingPrograms.length === 0) return [npm];
  return ["apt-get install -y --no-install-recommends ffmpeg   # as root: Debian's ffmpeg and ffprobe", npm];
}

/** The egress package's own dependencies that have no package.json under its node_modules. */
async function packageProblems(dir: string): Promise<string[]> {
  let manifest: { dependencies?: Record<string, string> };
  try {
    manifest = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
  } catch {
    return [`no egress package in ${shown(dir)} (package.json missing or unreadable)`];
  }
  const names = Object.keys(manifest.dependencies ?? {});
  const present = await Promise.all(
    names.map((name) => isFile(path.join(dir, 'node_modules', ...name.split('/'), 'package.json'))),
  );
  const missing = names.filter((_, i) => !present[i]);
  if (missing.length === 0) return [];
  return [`npm packages not installed in ${shown(path.join(dir, 'node_modules'))}: ${missing.join(', ')}`];
}

/** Programs with no executable file of that name in any directory of `searchPath`. */
async function missingFromPath(programs: string[], searchPath: string): Promise<string[]> {
  const dirs = searchPath.split(path.delimiter).filter((d) => d !== '');
  const found = await Promise.all(
    programs.map(async (program) => {
      for (const dir of dirs) if (await isExecutable(path.join(dir, program))) return true;
      return false;
    }),
  );
  return programs.filter((_, i) => !found[i]);
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function isExecutable(file: string): Promise<boolean> {
  if (!(await isFile(file))) return false;
  return access(file, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** A path as the operator typed it: relative to the working directory when inside it. */
function shown(file: string): string {
  const relative = path.relative(process.cwd(), file);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : file;
}
