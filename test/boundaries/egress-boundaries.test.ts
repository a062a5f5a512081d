import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cruise, type ICruiseResult, type IForbiddenRuleType } from 'dependency-cruiser';

/**
 * The egress boundary rules of .dependency-cruiser.cjs, run on a fixture tree that breaks each of
 * them once (test/fixtures/boundaries: a src/ and a packages/egress/src/ of a few lines), so a rule
 * that stops matching (a renamed folder, a typo in a path) fails here instead of passing silently.
 */
const config = createRequire(import.meta.url)(path.resolve('.dependency-cruiser.cjs')) as {
  forbidden: IForbiddenRuleType[];
  options: { enhancedResolveOptions: Record<string, unknown> };
};

async function violations(): Promise<Array<[rule: string, from: string, to: string]>> {
  const result = await cruise(['src', 'packages/egress/src'], {
    validate: true,
    ruleSet: { forbidden: config.forbidden },
    baseDir: path.resolve('test/fixtures/boundaries'),
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: config.options.enhancedResolveOptions,
  });
  const output = result.output as ICruiseResult;
  return output.summary.violations
    .filter((v) => v.rule.severity === 'error')
    .map((v) => [
      v.rule.name,
      v.from,
      v.to.includes('node_modules/') ? v.to.replace(/.*node_modules\//, 'node_modules/') : v.to,
    ]);
}

describe('egress module boundaries', () => {
  it('src/ never imports packages/, and egress imports only the core contracts and its own packages', async () => {
    assert.deepEqual((await violations()).sort(), [
      ['core-never-imports-egress', 'src/roles/loads-egress.ts', 'packages/egress/src/uses-core.ts'],
      [
        'egress-imports-core-contracts-only',
        'packages/egress/src/uses-core.ts',
        'src/signalling/internal.ts',
      ],
      [
        'egress-uses-its-own-packages',
        'packages/egress/src/borrows-root-package.ts',
        'node_modules/zod/index.js',
      ],
    ]);
  });
});
