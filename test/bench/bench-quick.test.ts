import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CHROMIUM_PATH } from '../support/browser.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** Figures the issue asks the summary for; each a finite number, or null with a reason in `skipped`. */
const REQUIRED = [
  'out_pps_per_core',
  'ratio_vs_raw_udp',
  'ratio_vs_werift',
  'ice_tcp_out_pps_per_core',
  'cpu_millicores_per_video_sub',
  'latency_p50_ms',
  'latency_p99_ms',
  'first_frame_p50_ms',
  'rss_mb_per_participant',
  'signalling_join_events_per_core',
  'signalling_chat_messages_per_core',
  'signalling_chat_deliveries_per_core',
  'rest_token_rps_per_core',
  'rest_join_rps_per_core',
  'bare_fastify_rps_per_core',
  'rest_token_ratio_vs_bare',
  'rest_join_ratio_vs_bare',
  'idle_rss_mb',
] as const;

/** Which `skipped` reason may explain a null figure. */
const REASON_FOR: Record<string, string[]> = {
  ratio_vs_raw_udp: ['raw_udp'],
  ratio_vs_werift: ['werift'],
  ice_tcp_out_pps_per_core: ['ice_tcp'],
  first_frame_p50_ms: ['first_frame', 'chromium'],
  idle_rss_mb: ['idle_memory'],
};

/**
 * `npm run bench -- --quick` is the tool as users run it: it starts the server and the load
 * processes itself and stops them before it exits (the test only waits for that). No performance
 * threshold here: the figures are checked for shape, and packets for having flowed.
 */
describe('bench --quick', { timeout: 240_000 }, () => {
  it('prints one JSON line with every required figure, and packets flowed through the server (UDP and ICE-TCP) and both baselines', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'bench.ts'), '--quick'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-8000);
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    assert.equal(code, 0, `bench exited with ${code}:\n${stderr}`);
    const lines = stdout.split('\n').filter((l) => l.trim() !== '');
    assert.equal(lines.length, 1, `one line on stdout, got:\n${stdout}`);
    const summary = JSON.parse(lines[0]!) as Record<string, unknown> & {
      skipped: Record<string, string>;
      steps: Array<Record<string, number | string>>;
    };
    for (const key of REQUIRED) {
      const value = summary[key];
      if (value === null) {
        const reasons = (REASON_FOR[key] ?? []).filter((r) => typeof summary.skipped[r] === 'string');
        assert.ok(
          reasons.length > 0,
          `${key} is null without a reason in skipped: ${JSON.stringify(summary.skipped)}`,
        );
      } else {
        assert.equal(typeof value, 'number', `${key} is a number`);
        assert.ok(Number.isFinite(value as number), `${key} is finite`);
      }
    }
    // Every baseline ran in quick mode, so the ratios exist.
    assert.equal(typeof summary.ratio_vs_raw_udp, 'number');
    assert.equal(typeof summary.ratio_vs_werift, 'number');
    // In CI Chromium is installed: one viewer decoded the replayed VP8.
    if (existsSync(CHROMIUM_PATH)) assert.equal(typeof summary.first_frame_p50_ms, 'number', stderr);
    // The ICE-TCP step ran too, at the headline size, with no link lost.
    assert.equal(typeof summary.ice_tcp_ratio_vs_udp, 'number');
    for (const system of ['bbmeet', 'bbmeet_tcp', 'raw_udp', 'werift']) {
      const step = summary.steps.find((s) => s.system === system && s.scenario === 'fanout');
      assert.ok(step, `a fanout step on ${system}`);
      assert.ok((step.out_pps as number) > 0, `${system} forwarded packets`);
      assert.ok((step.subscriptions_with_media as number) > 0, `${system} subscribers received media`);
      assert.equal(step.stream_errors, 0, `${system}: no ICE-TCP link broke`);
    }
    for (const scenario of ['meeting', 'audio']) {
      const step = summary.steps.find((s) => s.scenario === scenario);
      assert.ok(step, `a ${scenario} step`);
      assert.ok((step.out_pps as number) > 0, `${scenario}: packets forwarded`);
    }
    assert.ok((summary.out_pps_per_core as number) > 0);
    // The signalling scenario ran every window: work was done and the server refused none of it.
    const phases = summary.signalling_phases as Array<Record<string, unknown>>;
    assert.deepEqual(
      phases.map((p) => p.name),
      ['joins', 'chat', 'rest_token', 'rest_join', 'bare_fastify'],
    );
    for (const p of phases) {
      assert.ok((p.count as number) > 0, `signalling ${p.name}: operations done`);
      assert.equal(p.errors, 0, `signalling ${p.name}: ${p.first_error}`);
    }
    assert.ok((summary.signalling_chat_deliveries_per_core as number) > 0, 'chat.send reached the members');
  });
});
