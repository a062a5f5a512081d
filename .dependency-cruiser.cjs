// Module boundaries (see docs/architecture.md): each rule names what a module must not import.
const mod = (name) => `^src/${name}/`;
const rule = (name, from, to, comment) => ({ name, comment, severity: 'error', from: { path: from }, to });

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'no-orphans',
      severity: 'warn',
      from: { orphan: true, pathNot: ['\\.test\\.ts$', '\\.bench\\.ts$', '\\.d\\.ts$', '^src/main\\.ts$'] },
      to: {},
    },
    rule(
      'lib-is-a-leaf',
      mod('lib'),
      { path: '^src/', pathNot: mod('lib') },
      'lib/ imports nothing else from src/',
    ),
    rule(
      'lib-few-packages',
      mod('lib'),
      { dependencyTypes: ['npm'], pathNot: 'node_modules/(pino|prom-client)/' },
      'lib/ may use pino and prom-client only',
    ),
    rule(
      'rtp-is-pure',
      mod('rtp'),
      { path: '^src/', pathNot: [mod('rtp'), mod('lib')] },
      'rtp/ may import lib/ only',
    ),
    rule(
      'store-is-low',
      mod('store'),
      { path: '^src/', pathNot: [mod('store'), mod('lib')] },
      'store/ may import lib/ only',
    ),
    rule(
      'protocol-is-low',
      mod('protocol'),
      { path: '^src/', pathNot: [mod('protocol'), mod('lib')] },
      'protocol/ may import lib/ only',
    ),
    rule(
      'webhooks-is-a-sink',
      mod('webhooks'),
      { path: '^src/', pathNot: [mod('webhooks'), mod('lib'), mod('protocol')] },
      'webhooks/ may import lib/ and protocol/ only: roles/ hand signalling its WebhookEmitter',
    ),
    rule(
      'transport-below-sfu',
      mod('transport'),
      {
        path: [
          mod('sfu'),
          mod('signalling'),
          mod('api'),
          mod('rpc'),
          mod('dispatcher'),
          mod('store'),
          mod('roles'),
        ],
      },
      'transport/ knows nothing of rooms, signalling or storage',
    ),
    rule(
      'sfu-no-edges',
      mod('sfu'),
      {
        path: [
          mod('signalling'),
          mod('api'),
          mod('dispatcher'),
          mod('rpc'),
          mod('store'),
          mod('roles'),
          'node_modules/(socket\\.io|@grpc|ioredis|fastify)',
        ],
      },
      'sfu/ is handed its transport and talks to no edge',
    ),
    rule('egress-uses-sfu-contracts', mod('egress'), {
      path: [mod('signalling'), mod('api'), mod('rpc'), mod('dispatcher'), mod('roles')],
    }),
    rule('rpc-no-implementations', mod('rpc'), {
      path: [mod('sfu'), mod('signalling'), mod('api'), mod('dispatcher'), mod('store'), mod('roles')],
    }),
    rule('dispatcher-is-handed-clients', mod('dispatcher'), {
      path: [mod('sfu'), mod('rpc'), mod('signalling'), mod('api'), mod('roles')],
    }),
    rule(
      'signalling-is-handed-an-sfu',
      mod('signalling'),
      {
        path: [
          mod('sfu'),
          mod('rpc'),
          mod('dispatcher'),
          mod('api'),
          mod('transport'),
          mod('roles'),
          mod('webhooks'),
        ],
      },
      'signalling reaches media only through the SfuApi it is given',
    ),
    rule('api-no-media', mod('api'), {
      path: [mod('sfu'), mod('signalling'), mod('rpc'), mod('dispatcher'), mod('transport'), mod('roles')],
    }),
    rule(
      'sdk-is-browser-only',
      mod('sdk'),
      { path: '^src/', pathNot: mod('sdk') },
      'sdk/ is browser code bundled on its own: it imports nothing from the server',
    ),
    rule(
      'sdk-few-packages',
      mod('sdk'),
      {
        dependencyTypes: ['npm', 'npm-dev', 'core'],
        pathNot:
          'node_modules/(socket\\.io-client|socket\\.io-msgpack-parser|engine\\.io-client|@socket\\.io)/',
      },
      'sdk/ may use socket.io-client and socket.io-msgpack-parser only (no Node built-ins)',
    ),
    rule(
      'nothing-imports-the-sdk',
      '^src/(?!sdk/)',
      { path: mod('sdk') },
      'the server serves the SDK as a bundle (api/routes/web-app.ts) and never imports it',
    ),
    rule(
      'core-never-imports-egress',
      '^src/',
      { path: '^packages/' },
      'packages/egress is installed only by setup:egress: the server loads it with a computed import() (roles/egress-loader.ts)',
    ),
    rule(
      'egress-imports-core-contracts-only',
      '^packages/egress/src/',
      { path: '^src/', pathNot: ['^src/sfu/egress-backend\\.ts$', mod('protocol'), mod('rtp'), mod('lib')] },
      'egress reaches the core through sfu/egress-backend.ts, protocol/, rtp/ and lib/ only (checked in the egress stage)',
    ),
    rule(
      'egress-uses-its-own-packages',
      '^packages/egress/src/',
      { path: 'node_modules/', pathNot: '^packages/egress/node_modules/' },
      "egress's npm packages are in its own package.json, never borrowed from the root install",
    ),
    rule(
      'only-roles-compose',
      '^src/(?!roles/|main\\.ts)',
      { path: mod('roles') },
      'roles/ and main.ts are the only composition roots',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\.test\\.ts$' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
