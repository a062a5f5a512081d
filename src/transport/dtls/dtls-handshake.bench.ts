// CPU cost of one DTLS handshake (werift-dtls under DtlsSession): N handshakes, one after another,
// between two in-process endpoints (records handed over with setImmediate, as a loopback would),
// CPU (utime+stime of this process) divided by N, for both sides together. The werift client
// offers x25519 first, as Chromium does, so the key exchange measured is the one browsers use.
// `--js` keeps werift's own JavaScript key exchange (tweetnacl, @noble/curves) for the A/B.
// Usage: ./node_modules/.bin/node src/transport/dtls/dtls-handshake.bench.ts [--n 40] [--js]
import { parseArgs } from 'node:util';
import { type DtlsCertificate, generateDtlsCertificate } from './dtls-certificate.ts';
import { DtlsSession } from './dtls-session.ts';
import { nativeKeyExchangeInstalled, restoreJsKeyExchange } from './native-key-exchange.ts';

const { values } = parseArgs({
  options: { n: { type: 'string', default: '40' }, js: { type: 'boolean', default: false } },
});
const N = Number(values.n);
const WARMUP = 5;
if (values.js) restoreJsKeyExchange();

function handshake(serverCert: DtlsCertificate, clientCert: DtlsCertificate): Promise<void> {
  const done = Promise.withResolvers<void>();
  let connected = 0;
  const onConnected = () => {
    if (++connected === 2) done.resolve();
  };
  const onFailed = (reason: string) => done.reject(new Error(reason));
  const server: DtlsSession = new DtlsSession({
    certificate: serverCert,
    role: 'server',
    remoteFingerprints: [clientCert.fingerprint],
    send: (d) => setImmediate(() => client.handle(d)),
    onConnected,
    onFailed,
  });
  const client: DtlsSession = new DtlsSession({
    certificate: clientCert,
    role: 'client',
    remoteFingerprints: [serverCert.fingerprint],
    send: (d) => setImmediate(() => server.handle(d)),
    onConnected,
    onFailed,
  });
  client.start();
  return done.promise.finally(() => {
    server.close();
    client.close();
  });
}

const [a, b] = await Promise.all([generateDtlsCertificate(), generateDtlsCertificate()]);
for (let i = 0; i < WARMUP; i++) await handshake(a, b);
const start = process.cpuUsage();
const wallStart = performance.now();
for (let i = 0; i < N; i++) await handshake(a, b);
const cpu = process.cpuUsage(start);
const wallMs = performance.now() - wallStart;
console.log(
  JSON.stringify({
    key_exchange: nativeKeyExchangeInstalled() ? 'node:crypto' : 'werift JavaScript',
    handshakes: N,
    cpu_ms_per_handshake_both_sides: Number(((cpu.user + cpu.system) / 1000 / N).toFixed(2)),
    wall_ms_per_handshake: Number((wallMs / N).toFixed(2)),
  }),
);
