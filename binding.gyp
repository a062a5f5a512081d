{
  # The native fast path (native/README.md): Node-API only, so one build loads in any Node >= 18.
  # OpenSSL comes from the Node binary itself; its headers from Node's include directory.
  'targets': [
    {
      'target_name': 'bbmeet_native',
      'sources': ['native/bbmeet_native.c'],
      'defines': ['NAPI_VERSION=8', 'OPENSSL_SUPPRESS_DEPRECATED'],
      'cflags': ['-O2', '-Wall', '-Wextra', '-Wno-unused-parameter'],
      'cflags_c': ['-std=gnu11'],
      'conditions': [
        ['OS!="linux"', { 'type': 'none', 'sources!': ['native/bbmeet_native.c'] }],
      ],
    },
  ],
}
