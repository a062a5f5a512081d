// Runs every fuzz target (*.fuzz.test.ts) with a budget and adds up the inputs it tried.
//   node scripts/fuzz.mjs --ci     the bounded pass CI runs: at least 1 million inputs in all,
//                                  about a minute of CPU (CI_RUNS below, measured per target)
//   node scripts/fuzz.mjs          a long pass: FUZZ_RUNS (default 200 000) inputs per property
//   node scripts/fuzz.mjs --ci src/rtp    only the targets under a path
// A target that fails prints fast-check's shrunk input and seed (FUZZ_SEED=<seed> replays it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/**
 * Inputs per property in the CI pass, from each target's measured speed on the 2-core dev
 * machine (inputs/s in the comment): the fast byte parsers take most of the million, the ones that
 * drive a real server or werift take what fits in a few seconds.
 */
const CI_RUNS = {
  'src/rtp/rtp-packet.fuzz.test.ts': 150_000, // ~70k/s
  'src/rtp/rtcp.fuzz.test.ts': 150_000, // ~120k/s
  'src/rtp/codecs/codecs.fuzz.test.ts': 150_000, // ~80k/s
  'src/rtp/dependency-descriptor.fuzz.test.ts': 150_000, // ~130k/s
  'src/signalling/safe-msgpack-parser.fuzz.test.ts': 100_000,
  'src/transport/ice/stun.fuzz.test.ts': 100_000, // ~200k/s
  'src/transport/ice-tcp/rfc4571-framing.fuzz.test.ts': 50_000, // ~10k+/s (each stream read three ways)
  'src/transport/srtp/srtp-session.fuzz.test.ts': 100_000, // ~135k/s
  'src/transport/sctp/sctp.fuzz.test.ts': 30_000, // checks ~200k/s, association ~14k/s
  'src/transport/dtls/dtls-session.fuzz.test.ts': 20_000, // ~12k/s (werift-dtls behind it)
  'src/transport/negotiation/negotiation.fuzz.test.ts': 5_000, // ~1.3k-3k/s
  'src/signalling/socket-events.fuzz.test.ts': 20_000, // ~2k/s (a real socket.io server)
  'src/api/rest-bodies.fuzz.test.ts': 5_000, // ~0.5k/s (a real Fastify server, scrypt)
  // SFU media path: each input is a stream of up to 60-80 packets and actions, per codec.
  'src/sfu/media/up-track.fuzz.test.ts': 1_000, // ~400-2.5k streams/s
  'src/sfu/media/down-track.fuzz.test.ts': 1_000, // ~1-2k streams/s
  'src/sfu/media/publisher.fuzz.test.ts': 2_000, // ~500 streams/s
};
const CI_DEFAULT_RUNS = 20_000;
const CI_MIN_INPUTS = 1_000_000;
const LONG_RUNS = Number(process.env.FUZZ_RUNS) || 200_000;

const args = process.argv.slice(2);
const ci = args.includes('--ci');
const only = args.filter((a) => !a.startsWith('--'));

function targets(dir) {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return targets(file);
    return name.endsWith('.fuzz.test.ts') ? [file] : [];
  });
}

const files = targets('src')
  .sort()
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)));
const unknown = ci ? files.filter((f) => !(f in CI_RUNS)) : [];
if (unknown.length > 0) console.log(`fuzz: no CI budget for ${unknown.join(', ')}: ${CI_DEFAULT_RUNS} each`);

const work = mkdtempSync(path.join(tmpdir(), 'bbmeet-fuzz-'));
const started = performance.now();
let total = 0;
const failed = [];
try {
  for (const [i, file] of files.entries()) {
    const runs = ci ? (CI_RUNS[file] ?? CI_DEFAULT_RUNS) : LONG_RUNS;
    const report = path.join(work, `${i}.txt`);
    const t0 = performance.now();
    const result = spawnSync(process.execPath, ['--test', '--test-reporter=dot', file], {
      env: { ...process.env, FUZZ_RUNS: String(runs), FUZZ_REPORT: report },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    const seconds = (performance.now() - t0) / 1000;
    let inputs = 0;
    try {
      inputs = readFileSync(report, 'utf8')
        .split('\n')
        .filter(Boolean)
        .reduce((n, line) => n + Number(line), 0);
    } catch {
      // No property ran: counted as 0 inputs, and a passing file with none is reported below.
    }
    total += inputs;
    const ok = result.status === 0 && inputs > 0;
    console.log(
      `fuzz: ${ok ? 'ok  ' : 'FAIL'} ${file}: ${inputs.toLocaleString('en')} inputs in ${seconds.toFixed(1)} s` +
        ` (${Math.round(inputs / seconds).toLocaleString('en')}/s)`,
    );
    if (!ok) {
      failed.push(file);
      process.stdout.write(`${result.stdout}\n${result.stderr}\n`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
const seconds = (performance.now() - started) / 1000;
console.log(`fuzz: ${files.length} targets, ${total.toLocaleString('en')} inputs in ${seconds.toFixed(0)} s`);
if (failed.length > 0) {
  console.error(`fuzz: ${failed.length} target(s) failed: ${failed.join(', ')}`);
  process.exit(1);
}
if (ci && only.length === 0 && total < CI_MIN_INPUTS) {
  console.error(`fuzz: the CI pass tried ${total} inputs, fewer than ${CI_MIN_INPUTS}: raise CI_RUNS`);
  process.exit(1);
}
