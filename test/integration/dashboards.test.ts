// The Grafana dashboard and the Prometheus alert rules in deploy/ against a real scrape: every metric
// they query must be one the server exports, so that no panel stays empty and no alert can never fire.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { Socket } from 'socket.io-client';
import { silentLogger } from '../../src/lib/logger.ts';
import type { EgressStats } from '../../src/protocol/egress.ts';
import { startEmbedded } from '../../src/roles/embedded.ts';
import type { CreateEgress } from '../../src/sfu/egress-backend.ts';
import { ScriptedPublisher } from '../fakes/scripted-publisher.ts';
import { connectSocket, login, nextEvent, restClient, roomWithParticipants } from '../support/clients.ts';
import { asTestServer, freeUdpPort, type TestServer, testServerConfig } from '../support/server.ts';

const DASHBOARD = new URL('../../deploy/grafana/bbmeet-dashboard.json', import.meta.url);
const ALERTS = new URL('../../deploy/prometheus/alerts.yml', import.meta.url);

/** Series Prometheus makes itself for every target (they are never in a scrape). */
const PROMETHEUS_SERIES = new Set(['up']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset']);
const KEYWORDS_BINARY = new Set(['and', 'or', 'unless']);
/** Aggregation operators: followed by `by (…)` or `without (…)` rather than by `(`. */
const AGGREGATIONS = new Set([
  'sum',
  'min',
  'max',
  'avg',
  'group',
  'stddev',
  'stdvar',
  'count',
  'count_values',
]);
const AGGREGATIONS_WITH_PARAMETER = new Set(['bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
/** How panels name the Grafana `datasource` variable (a Grafana placeholder, not a template string). */
const DATASOURCE_UID = ['$', '{datasource}'].join('');
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

/**
 * The metric names a PromQL expression selects: identifiers that are not functions (followed by
 * `(`), keywords, label names (inside `{…}` or a `by (…)` list), Grafana variables or numbers.
 */
function promqlMetricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1')
    .replace(/\$\{?\w+\}?/g, '');
  const names = new Set<string>();
  // Not after a word character or a dot: the exponent of 1e3 or the hex digits of 0x1f are no names.
  for (const m of stripped.matchAll(/(?<![\w.:])([a-zA-Z_:][\w:]*)(?=\s*([^\s]|$))/g)) {
    const [, name, next] = m as unknown as [string, string, string | undefined];
    if (next === '(' || KEYWORDS.has(name) || KEYWORDS_BINARY.has(name)) continue;
    if (AGGREGATIONS.has(name) || AGGREGATIONS_WITH_PARAMETER.has(name)) continue;
    names.add(name);
  }
  return [...names];
}

/** Metric families of a Prometheus text exposition, by name, with their TYPE. */
function families(scrape: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const m of scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(m[1]!, m[2]!);
  return types;
}

/** Whether `name` is in the scrape: a family, or a histogram's or summary's `_bucket`/`_sum`/`_count`. */
function exported(name: string, types: Map<string, string>): boolean {
  if (types.has(name)) return true;
  const suffix = HISTOGRAM_SUFFIXES.find((s) => name.endsWith(s));
  if (!suffix) return false;
  const type = types.get(name.slice(0, -suffix.length));
  return type === 'histogram' || (type === 'summary' && suffix !== '_bucket');
}

interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  targets?: Array<{ expr: string; datasource?: { uid?: string } }>;
}
interface Dashboard {
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}
interface Rule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: string };
  annotations: { summary: string; description: string };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;
/** YAML's JSON-compatible form, after its leading comment lines. */
const alerts = JSON.parse(readFileSync(ALERTS, 'utf8').replace(/^#.*$/gm, '')) as {
  groups: Array<{ name: string; rules: Rule[] }>;
};

/** Every PromQL query of the dashboard: panel targets and `label_values(metric, label)` variables. */
function dashboardQueries(): Array<{ where: string; expr: string }> {
  const queries = dashboard.panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ where: `panel ${p.id} "${p.title}"`, expr: t.expr })),
  );
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : (v.query as { query: string }).query;
    const metric = /^label_values\(([^,]+),/.exec(query)?.[1];
    assert.ok(metric, `variable ${v.name}: a label_values(metric, label) query`);
    queries.push({ where: `variable ${v.name}`, expr: metric });
  }
  return queries;
}

/** An egress backend that runs nothing and reports fixed counters (the egress package is optional). */
function statsOnlyEgress(stats: EgressStats): CreateEgress {
  return async () => ({
    backend: {
      start: () => Promise.reject(new Error('not used')),
      stop: () => Promise.reject(new Error('not used')),
      list: () => [],
      onUpdate: () => undefined,
      close: async () => undefined,
      stats: () => stats,
    },
    http: { handle: (_req, res) => res.writeHead(404).end(), upgrade: () => false },
  });
}

/**
 * A webhook receiver on 127.0.0.1 that answers 204. `delivered` resolves at its second request: a
 * room's events go out one after the other, so the first one is counted as sent by then.
 */
async function webhookReceiver() {
  const delivered = Promise.withResolvers<void>();
  let requests = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(204).end();
      if (++requests === 2) delivered.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return { url, delivered: delivered.promise, close: () => server.close() };
}

describe('deploy/: Grafana dashboard and Prometheus alert rules against a real scrape', {
  timeout: 120_000,
}, () => {
  const cleanups: Array<() => unknown> = [];
  let server: TestServer;
  let scrape: string;

  /** The server with media, default process metrics, a webhook endpoint and egress counters. */
  async function start(webhookUrl: string): Promise<TestServer> {
    const udpPort = await freeUdpPort();
    const dir = await mkdtemp(path.join(tmpdir(), 'bbmeet-dashboards-'));
    const env = { WEBHOOK_URLS: webhookUrl, PUBLIC_IP: '127.0.0.1', EGRESS_ENABLED: 'true' };
    const config = testServerConfig({ dataDir: dir, udpPort, media: true, env });
    const egress = statsOnlyEgress({
      active: { hls: 0, recording: 0, moq: 0 },
      segmentsWritten: 0,
      bytesWritten: 0,
      uploadErrors: 0,
      transcodeCpuSeconds: 0,
    });
    const running = await startEmbedded(config, silentLogger(), { defaultMetrics: true, egress });
    return asTestServer(running, dir, udpPort);
  }

  /** One participant publishing real SRTP (Opus and 3-layer VP8), a second one joined without media. */
  async function call(): Promise<void> {
    const rest = restClient(server.baseUrl);
    const ada = await login(rest, 'ada');
    const bob = await login(rest, 'bob');
    const { roomId, pids } = await roomWithParticipants(rest, [ada, bob], 'Dashboards');
    const sockets: Socket[] = [
      await connectSocket(server.baseUrl, ada.token),
      await connectSocket(server.baseUrl, bob.token),
    ];
    cleanups.push(() => {
      for (const socket of sockets) socket.close();
    });
    const publisher = await ScriptedPublisher.create();
    cleanups.push(() => publisher.close());
    const answered = nextEvent<{ sdp: string }>(sockets[0]!, 'room.publish', 10_000);
    sockets[0]!.emit('room.publish', {
      sdp: publisher.offer,
      roomId,
      participantId: pids[0],
      isVideoEnabled: true,
      isAudioEnabled: true,
      isE2eeEnabled: false,
      totalTracks: 2,
      connectionType: 1,
    });
    await publisher.connect((await answered).sdp);
    publisher.start();
    const ack = (await sockets[1]!.timeout(10_000).emitWithAck('room.reconnect', {
      roomId,
      participantId: pids[1],
    })) as { restored?: boolean };
    assert.equal(ack.restored, true);
  }

  before(async () => {
    const hooks = await webhookReceiver();
    cleanups.push(() => hooks.close());
    server = await start(hooks.url);
    cleanups.push(() => server.close());
    await call();
    await hooks.delivered;
    const res = await fetch(`${server.baseUrl}/metrics`);
    assert.equal(res.status, 200);
    scrape = await res.text();
  });
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('promqlMetricNames() finds metric names, not functions, labels, keywords, variables or numbers', () => {
    assert.deepEqual(
      promqlMetricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(a_seconds_bucket{instance=~"$instance", x="y z"}[$__rate_interval]))) / on (instance) group_left b_total > 1e3 and c unless d offset 5m',
      ).sort(),
      ['a_seconds_bucket', 'b_total', 'c', 'd'],
    );
    assert.deepEqual(promqlMetricNames('time() - bbmeet_process_start_time_seconds{instance=~"$instance"}'), [
      'bbmeet_process_start_time_seconds',
    ]);
    assert.deepEqual(promqlMetricNames('up{job=~"bbmeet.*"} == 0'), ['up']);
  });

  it('the call shows in the scrape: participants, a publisher and a delivered webhook', () => {
    assert.match(scrape, /^bbmeet_participants 2$/m);
    assert.match(scrape, /^bbmeet_media_objects\{kind="publishers"\} 1$/m);
    assert.match(scrape, /^bbmeet_webhook_sent_total\{endpoint="0-127\.0\.0\.1:\d+"\} [1-9]/m);
    assert.match(scrape, /^bbmeet_http_request_duration_seconds_bucket\{/m);
  });

  it('every metric of every dashboard panel and variable is in the scrape', () => {
    const types = families(scrape);
    const queries = dashboardQueries();
    assert.ok(queries.length >= 30, `dashboard queries: ${queries.length}`);
    for (const { where, expr } of queries) {
      const names = promqlMetricNames(expr);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      for (const name of names) assert.ok(exported(name, types), `${where}: ${name} is not exported`);
    }
  });

  it('every metric of every alert rule is in the scrape (up is made by Prometheus)', () => {
    const types = families(scrape);
    for (const rule of alerts.groups.flatMap((g) => g.rules)) {
      const names = promqlMetricNames(rule.expr);
      assert.ok(names.length > 0, `${rule.alert}: no metric in ${rule.expr}`);
      for (const name of names)
        assert.ok(
          PROMETHEUS_SERIES.has(name) || exported(name, types),
          `${rule.alert}: ${name} is not exported`,
        );
    }
  });

  it('the dashboard: unique panel ids, a datasource on every panel and target, the datasource and instance variables', () => {
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `duplicate panel ids: ${ids}`);
    assert.ok(dashboard.schemaVersion >= 39, `schemaVersion ${dashboard.schemaVersion}`);
    for (const panel of dashboard.panels) {
      assert.deepEqual(panel.datasource, { type: 'prometheus', uid: DATASOURCE_UID }, `panel ${panel.id}`);
      for (const target of panel.targets ?? [])
        assert.equal(target.datasource?.uid, DATASOURCE_UID, `panel ${panel.id}`);
      if (panel.type !== 'row') assert.ok((panel.targets ?? []).length > 0, `panel ${panel.id} has no query`);
    }
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    assert.equal(variables.get('datasource')?.type, 'datasource');
    assert.equal(variables.get('datasource')?.query, 'prometheus');
    assert.equal(variables.get('instance')?.type, 'query');
  });

  it('the alert rules: alert, expr, for, labels.severity and annotations on every rule; promtool accepts them when installed', async () => {
    const rules = alerts.groups.flatMap((g) => g.rules);
    assert.ok(rules.length >= 8, `rules: ${rules.length}`);
    assert.equal(new Set(rules.map((r) => r.alert)).size, rules.length, 'unique alert names');
    for (const r of rules) {
      assert.match(r.alert, /^Bbmeet[A-Z]\w+$/);
      assert.match(r.for, /^\d+[smh]$/, `${r.alert}: for`);
      assert.ok(['critical', 'warning'].includes(r.labels.severity), `${r.alert}: severity`);
      assert.ok(
        r.annotations.summary.length > 0 && r.annotations.description.length > 0,
        `${r.alert}: annotations`,
      );
    }
    // Debian's prometheus package brings promtool; without it the structure above is what is checked.
    const promtool = await promisify(execFile)('promtool', ['check', 'rules', ALERTS.pathname]).catch(
      (err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)),
    );
    if (promtool) assert.match(promtool.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
  });
});
