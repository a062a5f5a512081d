// BBMEET native fast path (Node-API, ABI-stable across Node versions): SRTP/SRTCP packet transforms
// for AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM (RFC 3711, RFC 7714) on OpenSSL contexts kept
// per session, a batched UDP send (sendmmsg) on the media worker's socket, and the kernel's receive
// time of the datagram just read from it.
//
// OpenSSL is the one Node itself exports (its headers ship in Node's include directory): AES via
// EVP (AES-NI), HMAC-SHA1 via SHA1_* on precomputed key pads (SHA-NI/AVX2 block functions). The JS
// side (src/transport/srtp/native-*.ts) owns the ROC, replay windows and indexes; this file does
// bytes only, and checks every offset against the buffers it is given.
#ifndef NAPI_VERSION
#define NAPI_VERSION 8
#endif
#ifndef OPENSSL_SUPPRESS_DEPRECATED
#define OPENSSL_SUPPRESS_DEPRECATED 1
#endif
#define _GNU_SOURCE 1

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#if OPENSSL_VERSION_MAJOR < 3
#error "needs Node's OpenSSL 3 headers (Node >= 17)"
#endif

#define PROFILE_AES_CM 0x0001
#define PROFILE_GCM 0x0007
#define HMAC_TAG_BYTES 10
#define GCM_TAG_BYTES 16
#define SRTCP_INDEX_BYTES 4
#define RTCP_HEADER_BYTES 8
#define SHA1_BLOCK 64

typedef struct {
  EVP_CIPHER_CTX *enc;
  EVP_CIPHER_CTX *dec; /* GCM only: AES-CM decrypts with `enc` (CTR is symmetric). */
  uint8_t salt[14];
  SHA_CTX inner; /* SHA-1 state after (key ⊕ ipad), AES-CM only */
  SHA_CTX outer; /* SHA-1 state after (key ⊕ opad) */
} direction_t;

typedef struct {
  int profile;
  direction_t rtp;
  direction_t rtcp;
  uint8_t *scratch; /* GCM: decrypted body before the tag is known good */
  size_t scratch_bytes;
} session_t;

/* ---------- helpers ---------- */

#define CHECK(call)                                                                                     \
  do {                                                                                                  \
    if ((call) != napi_ok) return throw_last(env);                                                      \
  } while (0)

static napi_value throw_last(napi_env env) {
  const napi_extended_error_info *info = NULL;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    napi_get_last_error_info(env, &info);
    napi_throw_error(env, NULL, info && info->error_message ? info->error_message : "native call failed");
  }
  return NULL;
}

static napi_value throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, NULL, message);
  return NULL;
}

/** A RangeError whose message is the call's name then `what` (e.g. ": bad arguments"); returns 0. */
static int throw_range_named(napi_env env, const char *name, const char *what) {
  char message[96];
  snprintf(message, sizeof message, "%s%s", name, what);
  napi_throw_range_error(env, NULL, message);
  return 0;
}

static napi_value make_int(napi_env env, int64_t value) {
  napi_value result;
  if (napi_create_int64(env, value, &result) != napi_ok) return NULL;
  return result;
}

/** A Uint8Array (Buffer) argument: its bytes and length. */
static int get_bytes(napi_env env, napi_value value, uint8_t **data, size_t *length) {
  napi_typedarray_type type;
  void *ptr = NULL;
  size_t count = 0;
  if (napi_get_typedarray_info(env, value, &type, &count, &ptr, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = (uint8_t *)ptr;
  *length = count;
  return 1;
}

static int get_u32(napi_env env, napi_value value, uint32_t *out) {
  return napi_get_value_uint32(env, value, out) == napi_ok;
}

static inline void put_u32be(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void free_direction(direction_t *d) {
  if (d->enc) EVP_CIPHER_CTX_free(d->enc);
  if (d->dec) EVP_CIPHER_CTX_free(d->dec);
  OPENSSL_cleanse(d, sizeof(*d));
}

static void session_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  session_t *s = (session_t *)data;
  free_direction(&s->rtp);
  free_direction(&s->rtcp);
  free(s->scratch);
  free(s);
}

/* HMAC-SHA1 (RFC 2104) key pads, absorbed once: each tag then costs two state copies. */
static void hmac_init(direction_t *d, const uint8_t *key, size_t key_bytes) {
  uint8_t ipad[SHA1_BLOCK], opad[SHA1_BLOCK];
  memset(ipad, 0x36, sizeof ipad);
  memset(opad, 0x5c, sizeof opad);
  for (size_t i = 0; i < key_bytes; i++) {
    ipad[i] ^= key[i];
    opad[i] ^= key[i];
  }
  SHA1_Init(&d->inner);
  SHA1_Update(&d->inner, ipad, sizeof ipad);
  SHA1_Init(&d->outer);
  SHA1_Update(&d->outer, opad, sizeof opad);
  OPENSSL_cleanse(ipad, sizeof ipad);
  OPENSSL_cleanse(opad, sizeof opad);
}

/** HMAC-SHA1 over data[0..len) ‖ (trailer as 32-bit BE when has_trailer) into digest[20]. */
static void hmac_sha1(const direction_t *d, const uint8_t *data, size_t len, int has_trailer, uint32_t trailer,
                      uint8_t digest[SHA_DIGEST_LENGTH]) {
  SHA_CTX c = d->inner;
  SHA1_Update(&c, data, len);
  if (has_trailer) {
    uint8_t word[4];
    put_u32be(word, trailer);
    SHA1_Update(&c, word, 4);
  }
  SHA1_Final(digest, &c);
  c = d->outer;
  SHA1_Update(&c, digest, SHA_DIGEST_LENGTH);
  SHA1_Final(digest, &c);
  OPENSSL_cleanse(&c, sizeof c);
}

/**
 * AES-CM keystream XOR (RFC 3711 §4.1.1) over buf[0..len): IV = salt·2^16 ⊕ SSRC·2^64 ⊕ index·2^16.
 * OpenSSL's CTR adds the block number to the whole 128-bit IV; its low 16 bits start at zero and a
 * packet has fewer than 2^16 blocks, so that is SRTP's counter.
 */
static int aes_cm_xor_into(direction_t *d, const uint8_t *in, uint8_t *out, size_t len, uint32_t ssrc,
                           uint64_t index) {
  if (len == 0) return 1;
  uint8_t iv[16];
  memcpy(iv, d->salt, 14);
  iv[14] = 0;
  iv[15] = 0;
  iv[4] ^= (uint8_t)(ssrc >> 24);
  iv[5] ^= (uint8_t)(ssrc >> 16);
  iv[6] ^= (uint8_t)(ssrc >> 8);
  iv[7] ^= (uint8_t)ssrc;
  for (int i = 0; i < 6; i++) iv[8 + i] ^= (uint8_t)(index >> (8 * (5 - i)));
  if (EVP_EncryptInit_ex(d->enc, NULL, NULL, NULL, iv) != 1) return 0;
  int out_len = 0;
  return EVP_EncryptUpdate(d->enc, out, &out_len, in, (int)len) == 1;
}

/** aes_cm_xor_into in place. */
static int aes_cm_xor(direction_t *d, uint8_t *buf, size_t len, uint32_t ssrc, uint64_t index) {
  return aes_cm_xor_into(d, buf, buf, len, ssrc, index);
}

/** RFC 7714 §8.1 / §9.1: the 12-byte GCM IV, salt ⊕ (0¹⁶ ‖ SSRC ‖ word ‖ low). */
static void gcm_iv(const direction_t *d, uint8_t iv[12], uint32_t ssrc, uint32_t word, uint16_t low) {
  iv[0] = 0;
  iv[1] = 0;
  put_u32be(iv + 2, ssrc);
  /* RTP: ROC (32 bits) ‖ SEQ (16 bits); RTCP: 0¹⁶ ‖ index (32 bits, E flag clear). */
  put_u32be(iv + 6, word);
  iv[10] = (uint8_t)(low >> 8);
  iv[11] = (uint8_t)low;
  for (int i = 0; i < 12; i++) iv[i] ^= d->salt[i];
}

/** GCM seal in place: buf[aad..end) encrypted, aad = buf[0..aad_len) ‖ extra; tag written to tag. */
static int gcm_seal(direction_t *d, const uint8_t iv[12], uint8_t *buf, size_t aad_len, size_t end,
                    const uint8_t *extra, size_t extra_len, uint8_t *tag) {
  int n = 0;
  if (EVP_EncryptInit_ex(d->enc, NULL, NULL, NULL, iv) != 1) return 0;
  if (aad_len > 0 && EVP_EncryptUpdate(d->enc, NULL, &n, buf, (int)aad_len) != 1) return 0;
  if (extra_len > 0 && EVP_EncryptUpdate(d->enc, NULL, &n, extra, (int)extra_len) != 1) return 0;
  if (end > aad_len && EVP_EncryptUpdate(d->enc, buf + aad_len, &n, buf + aad_len, (int)(end - aad_len)) != 1)
    return 0;
  if (EVP_EncryptFinal_ex(d->enc, buf + end, &n) != 1) return 0;
  return EVP_CIPHER_CTX_ctrl(d->enc, EVP_CTRL_GCM_GET_TAG, GCM_TAG_BYTES, tag) == 1;
}

static uint8_t *scratch(session_t *s, size_t bytes) {
  if (bytes <= s->scratch_bytes) return s->scratch;
  size_t want = bytes < 2048 ? 2048 : bytes;
  uint8_t *p = (uint8_t *)realloc(s->scratch, want);
  if (!p) return NULL;
  s->scratch = p;
  s->scratch_bytes = want;
  return p;
}

/**
 * GCM open: authenticates aad_a ‖ aad_b and the ciphertext ct[0..ct_len), decrypting into scratch.
 * Returns 1 when genuine (plain text in *plain), 0 when not, -1 on an OpenSSL error.
 */
static int gcm_open(session_t *s, direction_t *d, const uint8_t iv[12], const uint8_t *aad_a, size_t aad_a_len,
                    const uint8_t *aad_b, size_t aad_b_len, const uint8_t *ct, size_t ct_len, const uint8_t *tag,
                    uint8_t **plain) {
  int n = 0;
  uint8_t *out = scratch(s, ct_len + 16);
  if (!out) return -1;
  if (EVP_DecryptInit_ex(d->dec, NULL, NULL, NULL, iv) != 1) return -1;
  if (aad_a_len > 0 && EVP_DecryptUpdate(d->dec, NULL, &n, aad_a, (int)aad_a_len) != 1) return -1;
  if (aad_b_len > 0 && EVP_DecryptUpdate(d->dec, NULL, &n, aad_b, (int)aad_b_len) != 1) return -1;
  if (ct_len > 0 && EVP_DecryptUpdate(d->dec, out, &n, ct, (int)ct_len) != 1) return -1;
  if (EVP_CIPHER_CTX_ctrl(d->dec, EVP_CTRL_GCM_SET_TAG, GCM_TAG_BYTES, (void *)tag) != 1) return -1;
  *plain = out;
  return EVP_DecryptFinal_ex(d->dec, out + ct_len, &n) == 1 ? 1 : 0;
}

static int init_direction(direction_t *d, int profile, const uint8_t *key, size_t key_bytes, const uint8_t *salt,
                          size_t salt_bytes, const uint8_t *auth, size_t auth_bytes) {
  const EVP_CIPHER *cipher;
  if (profile == PROFILE_GCM)
    cipher = key_bytes == 32 ? EVP_aes_256_gcm() : EVP_aes_128_gcm();
  else
    cipher = key_bytes == 32 ? EVP_aes_256_ctr() : EVP_aes_128_ctr();
  memcpy(d->salt, salt, salt_bytes);
  d->enc = EVP_CIPHER_CTX_new();
  if (!d->enc || EVP_EncryptInit_ex(d->enc, cipher, NULL, key, NULL) != 1) return 0;
  if (profile == PROFILE_GCM) {
    d->dec = EVP_CIPHER_CTX_new();
    if (!d->dec || EVP_DecryptInit_ex(d->dec, cipher, NULL, key, NULL) != 1) return 0;
  } else {
    hmac_init(d, auth, auth_bytes);
  }
  return 1;
}

/* ---------- SRTP session ---------- */

/**
 * createSession(profile, rtpKey, rtpSalt, rtpAuthKey, rtcpKey, rtcpSalt, rtcpAuthKey) → handle.
 * Keys of 16 or 32 bytes; salts of 14 (AES-CM) or 12 (GCM) bytes; auth keys ≤ 64 bytes (AES-CM).
 */
static napi_value create_session(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return throw_range(env, "createSession needs 7 arguments");
  uint32_t profile;
  if (!get_u32(env, argv[0], &profile) || (profile != PROFILE_AES_CM && profile != PROFILE_GCM))
    return throw_range(env, "unknown SRTP profile");
  uint8_t *bytes[6];
  size_t lengths[6];
  for (int i = 0; i < 6; i++)
    if (!get_bytes(env, argv[1 + i], &bytes[i], &lengths[i])) return throw_range(env, "keys must be Buffers");
  size_t salt_bytes = profile == PROFILE_GCM ? 12 : 14;
  for (int i = 0; i < 6; i += 3) {
    if (lengths[i] != 16 && lengths[i] != 32) return throw_range(env, "cipher key must be 16 or 32 bytes");
    if (lengths[i + 1] < salt_bytes) return throw_range(env, "salt too short");
    if (lengths[i + 2] > SHA1_BLOCK) return throw_range(env, "auth key longer than a block");
  }
  session_t *s = (session_t *)calloc(1, sizeof(session_t));
  if (!s) return throw_range(env, "out of memory");
  s->profile = (int)profile;
  if (!init_direction(&s->rtp, s->profile, bytes[0], lengths[0], bytes[1], salt_bytes, bytes[2], lengths[2]) ||
      !init_direction(&s->rtcp, s->profile, bytes[3], lengths[3], bytes[4], salt_bytes, bytes[5], lengths[5])) {
    session_finalize(env, s, NULL);
    napi_throw_error(env, NULL, "OpenSSL cipher setup failed");
    return NULL;
  }
  napi_value handle;
  if (napi_create_external(env, s, session_finalize, NULL, &handle) != napi_ok) {
    session_finalize(env, s, NULL);
    return throw_last(env);
  }
  return handle;
}

static session_t *get_session(napi_env env, napi_value value) {
  void *data = NULL;
  if (napi_get_value_external(env, value, &data) != napi_ok || !data) {
    napi_throw_type_error(env, NULL, "not an SRTP session handle");
    return NULL;
  }
  return (session_t *)data;
}

static napi_value seal_rtp_bytes(napi_env env, session_t *s, uint8_t *buf, size_t len, uint32_t header,
                                 uint32_t end, uint32_t ssrc, uint32_t roc, uint32_t seq);

/** sealRtp(session, buf, headerBytes, end, ssrc, roc, seq) → length: buf[0..end) is the RTP packet. */
static napi_value seal_rtp(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return throw_range(env, "sealRtp needs 7 arguments");
  session_t *s = get_session(env, argv[0]);
  if (!s) return NULL;
  uint8_t *buf;
  size_t len;
  uint32_t header, end, ssrc, roc, seq;
  if (!get_bytes(env, argv[1], &buf, &len) || !get_u32(env, argv[2], &header) || !get_u32(env, argv[3], &end) ||
      !get_u32(env, argv[4], &ssrc) || !get_u32(env, argv[5], &roc) || !get_u32(env, argv[6], &seq))
    return throw_range(env, "sealRtp: bad arguments");
  return seal_rtp_bytes(env, s, buf, len, header, end, ssrc, roc, seq);
}

/** What sealRtpHeader and openRtpHeader read from their arguments and from the packet's RTP header. */
typedef struct {
  session_t *s;
  uint8_t *packet;
  size_t len;
  uint32_t header, roc;
  uint32_t ssrc, seq;
} rtp_header_call_t;

/**
 * The arguments of sealRtpHeader and openRtpHeader: (session, packet, headerBytes, third, roc),
 * where the third is seal's `end` (a number: pass `end`) or open's `out` (bytes: pass `out` and
 * `out_len`), the one pointer left NULL. Then the SSRC and sequence number from the packet's header.
 * Returns 0 after throwing `<name> needs 5 arguments`, `<name>: bad arguments` (a wrong type), or
 * `<name>: out of bounds` (a header under 12 bytes or past the packet); the caller's own bounds
 * (seal's `end`) are its to check, with the same message.
 */
static int read_rtp_header_call(napi_env env, napi_callback_info info, const char *name, rtp_header_call_t *c,
                                uint32_t *end, uint8_t **out, size_t *out_len) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) {
    throw_last(env);
    return 0;
  }
  if (argc < 5) return throw_range_named(env, name, " needs 5 arguments");
  c->s = get_session(env, argv[0]);
  if (!c->s) return 0;
  if (!get_bytes(env, argv[1], &c->packet, &c->len) || !get_u32(env, argv[2], &c->header) ||
      !(end ? get_u32(env, argv[3], end) : get_bytes(env, argv[3], out, out_len)) || !get_u32(env, argv[4], &c->roc))
    return throw_range_named(env, name, ": bad arguments");
  if (c->header < 12 || c->header > c->len) return throw_range_named(env, name, ": out of bounds");
  const uint8_t *p = c->packet;
  c->ssrc = ((uint32_t)p[8] << 24) | ((uint32_t)p[9] << 16) | ((uint32_t)p[10] << 8) | p[11];
  c->seq = ((uint32_t)p[2] << 8) | p[3];
  return 1;
}

/**
 * sealRtpHeader(session, buf, headerBytes, end, roc) → length: sealRtp with the SSRC and sequence
 * number read from the packet's header (an SSRC above 2^30 passed from JavaScript is a heap
 * number, allocated per call).
 */
static napi_value seal_rtp_header(napi_env env, napi_callback_info info) {
  rtp_header_call_t c;
  uint32_t end;
  if (!read_rtp_header_call(env, info, "sealRtpHeader", &c, &end, NULL, NULL)) return NULL;
  if (c.header > end || end > c.len) return throw_range(env, "sealRtpHeader: out of bounds");
  return seal_rtp_bytes(env, c.s, c.packet, c.len, c.header, end, c.ssrc, c.roc, c.seq);
}

static napi_value seal_rtp_bytes(napi_env env, session_t *s, uint8_t *buf, size_t len, uint32_t header,
                                 uint32_t end, uint32_t ssrc, uint32_t roc, uint32_t seq) {
  if (s->profile == PROFILE_GCM) {
    if (header > end || (size_t)end + GCM_TAG_BYTES > len) return throw_range(env, "sealRtp: out of bounds");
    uint8_t iv[12];
    gcm_iv(&s->rtp, iv, ssrc, roc, (uint16_t)seq);
    if (!gcm_seal(&s->rtp, iv, buf, header, end, NULL, 0, buf + end)) return throw_range(env, "GCM failed");
    return make_int(env, end + GCM_TAG_BYTES);
  }
  if (header > end || (size_t)end + HMAC_TAG_BYTES > len) return throw_range(env, "sealRtp: out of bounds");
  if (!aes_cm_xor(&s->rtp, buf + header, end - header, ssrc, ((uint64_t)roc << 16) | (seq & 0xffff)))
    return throw_range(env, "AES-CM failed");
  uint8_t digest[SHA_DIGEST_LENGTH];
  hmac_sha1(&s->rtp, buf, end, 1, roc, digest);
  memcpy(buf + end, digest, HMAC_TAG_BYTES);
  return make_int(env, end + HMAC_TAG_BYTES);
}

static napi_value open_rtp_bytes(napi_env env, session_t *s, const uint8_t *packet, size_t len, uint32_t header,
                                 uint8_t *out, size_t out_len, uint32_t ssrc, uint32_t roc, uint32_t seq);

/**
 * openRtp(session, packet, headerBytes, out, ssrc, roc, seq) → RTP length, or -1 when the packet
 * does not authenticate (then `out` is untouched). `out` may be `packet`'s own memory.
 */
static napi_value open_rtp(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) return throw_range(env, "openRtp needs 7 arguments");
  session_t *s = get_session(env, argv[0]);
  if (!s) return NULL;
  uint8_t *packet, *out;
  size_t len, out_len;
  uint32_t header, ssrc, roc, seq;
  if (!get_bytes(env, argv[1], &packet, &len) || !get_u32(env, argv[2], &header) ||
      !get_bytes(env, argv[3], &out, &out_len) || !get_u32(env, argv[4], &ssrc) || !get_u32(env, argv[5], &roc) ||
      !get_u32(env, argv[6], &seq))
    return throw_range(env, "openRtp: bad arguments");
  return open_rtp_bytes(env, s, packet, len, header, out, out_len, ssrc, roc, seq);
}

/**
 * openRtpHeader(session, packet, headerBytes, out, roc) → openRtp with the SSRC and sequence
 * number read from the packet's header (an SSRC above 2^31 passed from JavaScript is a heap
 * number, allocated per call).
 */
static napi_value open_rtp_header(napi_env env, napi_callback_info info) {
  rtp_header_call_t c;
  uint8_t *out;
  size_t out_len;
  if (!read_rtp_header_call(env, info, "openRtpHeader", &c, NULL, &out, &out_len)) return NULL;
  return open_rtp_bytes(env, c.s, c.packet, c.len, c.header, out, out_len, c.ssrc, c.roc, c.seq);
}

static napi_value open_rtp_bytes(napi_env env, session_t *s, const uint8_t *packet, size_t len, uint32_t header,
                                 uint8_t *out, size_t out_len, uint32_t ssrc, uint32_t roc, uint32_t seq) {
  size_t tag_bytes = s->profile == PROFILE_GCM ? GCM_TAG_BYTES : HMAC_TAG_BYTES;
  if (len < tag_bytes || header > len - tag_bytes || out_len < len - tag_bytes)
    return throw_range(env, "openRtp: out of bounds");
  size_t end = len - tag_bytes;
  if (s->profile == PROFILE_GCM) {
    uint8_t iv[12];
    uint8_t *plain = NULL;
    gcm_iv(&s->rtp, iv, ssrc, roc, (uint16_t)seq);
    int ok = gcm_open(s, &s->rtp, iv, packet, header, NULL, 0, packet + header, end - header, packet + end, &plain);
    if (ok < 0) return throw_range(env, "GCM failed");
    if (ok == 0) return make_int(env, -1);
    if (out != packet) memmove(out, packet, header);
    memcpy(out + header, plain, end - header);
    return make_int(env, (int64_t)end);
  }
  uint8_t digest[SHA_DIGEST_LENGTH];
  hmac_sha1(&s->rtp, packet, end, 1, roc, digest);
  if (CRYPTO_memcmp(digest, packet + end, HMAC_TAG_BYTES) != 0) return make_int(env, -1);
  const uint8_t *in = out;
  if (out + end <= packet || packet + end <= out) {
    /* Apart: the keystream XOR reads the packet and writes `out`, only the header is copied. */
    memcpy(out, packet, header);
    in = packet;
  } else if (out != packet) {
    memmove(out, packet, end);
  }
  if (!aes_cm_xor_into(&s->rtp, in + header, out + header, end - header, ssrc,
                       ((uint64_t)roc << 16) | (seq & 0xffff)))
    return throw_range(env, "AES-CM failed");
  return make_int(env, (int64_t)end);
}

/** sealRtcp(session, buf, end, ssrc, index) → SRTCP length: buf[0..end) is the RTCP compound. */
static napi_value seal_rtcp(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) return throw_range(env, "sealRtcp needs 5 arguments");
  session_t *s = get_session(env, argv[0]);
  if (!s) return NULL;
  uint8_t *buf;
  size_t len;
  uint32_t end, ssrc, index;
  if (!get_bytes(env, argv[1], &buf, &len) || !get_u32(env, argv[2], &end) || !get_u32(env, argv[3], &ssrc) ||
      !get_u32(env, argv[4], &index))
    return throw_range(env, "sealRtcp: bad arguments");
  uint8_t word[4];
  put_u32be(word, 0x80000000u | (index & 0x7fffffffu));
  if (s->profile == PROFILE_GCM) {
    if (end < RTCP_HEADER_BYTES || (size_t)end + GCM_TAG_BYTES + SRTCP_INDEX_BYTES > len)
      return throw_range(env, "sealRtcp: out of bounds");
    uint8_t iv[12];
    gcm_iv(&s->rtcp, iv, ssrc, (index & 0x7fffffffu) >> 16, (uint16_t)(index & 0xffff));
    if (!gcm_seal(&s->rtcp, iv, buf, RTCP_HEADER_BYTES, end, word, 4, buf + end)) return throw_range(env, "GCM failed");
    memcpy(buf + end + GCM_TAG_BYTES, word, 4);
    return make_int(env, end + GCM_TAG_BYTES + SRTCP_INDEX_BYTES);
  }
  if (end < RTCP_HEADER_BYTES || (size_t)end + SRTCP_INDEX_BYTES + HMAC_TAG_BYTES > len)
    return throw_range(env, "sealRtcp: out of bounds");
  if (!aes_cm_xor(&s->rtcp, buf + RTCP_HEADER_BYTES, end - RTCP_HEADER_BYTES, ssrc, index & 0x7fffffffu))
    return throw_range(env, "AES-CM failed");
  memcpy(buf + end, word, 4);
  uint8_t digest[SHA_DIGEST_LENGTH];
  hmac_sha1(&s->rtcp, buf, end + SRTCP_INDEX_BYTES, 0, 0, digest);
  memcpy(buf + end + SRTCP_INDEX_BYTES, digest, HMAC_TAG_BYTES);
  return make_int(env, end + SRTCP_INDEX_BYTES + HMAC_TAG_BYTES);
}

/**
 * openRtcp(session, packet, out, ssrc, index, encrypted) → RTCP length, or -1 when the packet does
 * not authenticate (then `out` is untouched).
 */
static napi_value open_rtcp(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) return throw_range(env, "openRtcp needs 6 arguments");
  session_t *s = get_session(env, argv[0]);
  if (!s) return NULL;
  uint8_t *packet, *out;
  size_t len, out_len;
  uint32_t ssrc, index;
  bool encrypted = false;
  if (!get_bytes(env, argv[1], &packet, &len) || !get_bytes(env, argv[2], &out, &out_len) ||
      !get_u32(env, argv[3], &ssrc) || !get_u32(env, argv[4], &index) ||
      napi_get_value_bool(env, argv[5], &encrypted) != napi_ok)
    return throw_range(env, "openRtcp: bad arguments");
  index &= 0x7fffffffu;
  if (s->profile == PROFILE_GCM) {
    if (len < RTCP_HEADER_BYTES + GCM_TAG_BYTES + SRTCP_INDEX_BYTES) return throw_range(env, "openRtcp: too short");
    size_t index_at = len - SRTCP_INDEX_BYTES;
    size_t tag_at = index_at - GCM_TAG_BYTES;
    if (out_len < tag_at) return throw_range(env, "openRtcp: out too small");
    uint8_t iv[12];
    uint8_t *plain = NULL;
    gcm_iv(&s->rtcp, iv, ssrc, index >> 16, (uint16_t)(index & 0xffff));
    /* RFC 7714 §9.2–9.3: with E clear nothing is encrypted and the compound is all AAD. */
    size_t aad = encrypted ? RTCP_HEADER_BYTES : tag_at;
    int ok = gcm_open(s, &s->rtcp, iv, packet, aad, packet + index_at, SRTCP_INDEX_BYTES, packet + aad, tag_at - aad,
                      packet + tag_at, &plain);
    if (ok < 0) return throw_range(env, "GCM failed");
    if (ok == 0) return make_int(env, -1);
    if (out != packet) memmove(out, packet, aad);
    if (tag_at > aad) memcpy(out + aad, plain, tag_at - aad);
    return make_int(env, (int64_t)tag_at);
  }
  if (len < RTCP_HEADER_BYTES + SRTCP_INDEX_BYTES + HMAC_TAG_BYTES) return throw_range(env, "openRtcp: too short");
  size_t tag_at = len - HMAC_TAG_BYTES;
  size_t end = tag_at - SRTCP_INDEX_BYTES;
  if (out_len < end) return throw_range(env, "openRtcp: out too small");
  uint8_t digest[SHA_DIGEST_LENGTH];
  hmac_sha1(&s->rtcp, packet, tag_at, 0, 0, digest);
  if (CRYPTO_memcmp(digest, packet + tag_at, HMAC_TAG_BYTES) != 0) return make_int(env, -1);
  if (out != packet) memmove(out, packet, end);
  if (encrypted && !aes_cm_xor(&s->rtcp, out + RTCP_HEADER_BYTES, end - RTCP_HEADER_BYTES, ssrc, index))
    return throw_range(env, "AES-CM failed");
  return make_int(env, (int64_t)end);
}

/* ---------- batched UDP send ---------- */

/*
 * The send queue lives in JS memory: `ring` holds `slots` datagrams of `slotBytes` each, `meta`
 * (Uint32Array) a header of META_HEADER words then META_SLOT words per slot: length, family (4 or
 * 6), port, unused, then the 16 address bytes (IPv4: the first 4) as stored by encodeAddress.
 */
#define META_HEADER 8
#define META_SLOT 8
#define META_ERRORS 0     /* datagrams the kernel refused in the last flush (dropped) */
#define META_LAST_ERRNO 1 /* errno of the last refusal */
#define MAX_BATCH 1024    /* UIO_MAXIOV */

/** socketInfo(fd) → [family (4|6), port] of a bound UDP socket, or null when fd is not one. */
static napi_value socket_info(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, item;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok) return throw_range(env, "fd must be a number");
  napi_get_null(env, &result);
  if (fd < 0) return result;
  int type = 0;
  socklen_t type_len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_DGRAM) return result;
  struct sockaddr_storage ss;
  socklen_t ss_len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &ss_len) != 0) return result;
  int family;
  uint16_t port;
  if (ss.ss_family == AF_INET) {
    family = 4;
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    family = 6;
    port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  } else {
    return result;
  }
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_create_int32(env, family, &item));
  CHECK(napi_set_element(env, result, 0, item));
  CHECK(napi_create_int32(env, port, &item));
  CHECK(napi_set_element(env, result, 1, item));
  return result;
}

/**
 * receiveAgeUs(fd) → microseconds since the kernel received the datagram last read from the UDP
 * socket `fd` (its SIOCGSTAMPNS time against CLOCK_REALTIME now), or -1 when it has none yet. The
 * first call turns timestamping on for the socket, so it answers -1; from the next datagram on,
 * every read records its arrival. Called while the datagram is being dispatched (libuv hands each
 * one to JavaScript right after reading it), this is that datagram's age: how long it waited in
 * the socket buffer and the event loop.
 */
static napi_value receive_age_us(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0)
    return throw_range(env, "fd must be a non-negative number");
  struct timespec stamp, now;
  if (ioctl(fd, SIOCGSTAMPNS, &stamp) != 0 || clock_gettime(CLOCK_REALTIME, &now) != 0) return make_int(env, -1);
  int64_t age = (int64_t)(now.tv_sec - stamp.tv_sec) * 1000000 + (now.tv_nsec - stamp.tv_nsec) / 1000;
  /* The wall clock stepped back since (NTP): no age to tell. */
  return make_int(env, age < 0 ? -1 : age);
}

/**
 * setReceiveBuffer(fd, bytes) → the socket's receive buffer after asking for `bytes`: first with
 * SO_RCVBUFFORCE (beyond net.core.rmem_max; needs CAP_NET_ADMIN), else SO_RCVBUF (capped at
 * rmem_max). The kernel reports twice what was set (its bookkeeping share); this returns that.
 */
static napi_value set_receive_buffer(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1, bytes = 0;
  if (argc < 2 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_int32(env, argv[1], &bytes) != napi_ok)
    return throw_range(env, "fd and bytes must be numbers");
  if (fd < 0 || bytes <= 0) return throw_range(env, "fd and bytes must be positive");
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0)
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  int actual = 0;
  socklen_t len = sizeof actual;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &actual, &len) != 0) return throw_last(env);
  return make_int(env, actual);
}

/** encodeAddress(ip, out16) → 4 or 6 (family; the address bytes written to out), 0 when not a literal. */
static napi_value encode_address(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char ip[64];
  size_t ip_len = 0;
  uint8_t *out;
  size_t out_len;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], ip, sizeof ip, &ip_len) != napi_ok ||
      !get_bytes(env, argv[1], &out, &out_len) || out_len < 16)
    return throw_range(env, "encodeAddress(ip, Uint8Array(16))");
  if (ip_len >= sizeof ip - 1) return make_int(env, 0);
  memset(out, 0, 16);
  if (inet_pton(AF_INET, ip, out) == 1) return make_int(env, 4);
  if (inet_pton(AF_INET6, ip, out) == 1) return make_int(env, 6); /* a %scope suffix fails here: 0 */
  return make_int(env, 0);
}

/**
 * flush(fd, ring, slotBytes, meta, count) → how many of the first `count` slots were dealt with:
 * sent, or refused by the kernel for good (counted in meta[META_ERRORS] and dropped, as dgram
 * would). Fewer than `count` means the socket would block (EAGAIN/ENOBUFS): the caller sends the
 * rest another way.
 */
static napi_value flush(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd;
  uint32_t slot_bytes, count;
  uint8_t *ring;
  size_t ring_len;
  void *meta_ptr = NULL;
  size_t meta_count = 0;
  napi_typedarray_type meta_type;
  if (argc < 5 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || !get_bytes(env, argv[1], &ring, &ring_len) ||
      !get_u32(env, argv[2], &slot_bytes) ||
      napi_get_typedarray_info(env, argv[3], &meta_type, &meta_count, &meta_ptr, NULL, NULL) != napi_ok ||
      meta_type != napi_uint32_array || !get_u32(env, argv[4], &count))
    return throw_range(env, "flush: bad arguments");
  uint32_t *meta = (uint32_t *)meta_ptr;
  if (fd < 0 || count > MAX_BATCH || slot_bytes == 0 || (size_t)count * slot_bytes > ring_len ||
      META_HEADER + (size_t)count * META_SLOT > meta_count)
    return throw_range(env, "flush: out of bounds");

  struct mmsghdr msgs[64];
  struct iovec iov[64];
  union {
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } addrs[64];
  uint32_t done = 0, errors = 0, last_errno = 0;
  while (done < count) {
    /* Up to 64 datagrams per call; slots with bad metadata are refused without a syscall. */
    uint32_t batch = 0;
    uint32_t first = done;
    while (first + batch < count && batch < 64) {
      uint32_t *m = meta + META_HEADER + (size_t)(first + batch) * META_SLOT;
      uint32_t length = m[0], family = m[1], port = m[2];
      if (length > slot_bytes || port == 0 || port > 65535 || (family != 4 && family != 6)) {
        if (batch > 0) break;
        errors++;
        last_errno = EINVAL;
        first++;
        done++;
        continue;
      }
      memset(&addrs[batch], 0, sizeof addrs[batch]);
      socklen_t addr_len;
      if (family == 4) {
        addrs[batch].v4.sin_family = AF_INET;
        addrs[batch].v4.sin_port = htons((uint16_t)port);
        memcpy(&addrs[batch].v4.sin_addr, &m[4], 4);
        addr_len = sizeof(struct sockaddr_in);
      } else {
        addrs[batch].v6.sin6_family = AF_INET6;
        addrs[batch].v6.sin6_port = htons((uint16_t)port);
        memcpy(&addrs[batch].v6.sin6_addr, &m[4], 16);
        addr_len = sizeof(struct sockaddr_in6);
      }
      iov[batch].iov_base = ring + (size_t)(first + batch) * slot_bytes;
      iov[batch].iov_len = length;
      memset(&msgs[batch], 0, sizeof msgs[batch]);
      msgs[batch].msg_hdr.msg_name = &addrs[batch];
      msgs[batch].msg_hdr.msg_namelen = addr_len;
      msgs[batch].msg_hdr.msg_iov = &iov[batch];
      msgs[batch].msg_hdr.msg_iovlen = 1;
      batch++;
    }
    if (batch == 0) continue;
    uint32_t sent = 0;
    while (sent < batch) {
      int r = sendmmsg(fd, msgs + sent, batch - sent, MSG_DONTWAIT);
      if (r > 0) {
        sent += (uint32_t)r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        meta[META_ERRORS] = errors;
        meta[META_LAST_ERRNO] = last_errno;
        return make_int(env, done + sent);
      }
      /* This datagram is refused (unreachable, bad address, too big…): drop it, go on. */
      errors++;
      last_errno = r < 0 ? (uint32_t)errno : 0;
      sent++;
    }
    done += batch;
  }
  meta[META_ERRORS] = errors;
  meta[META_LAST_ERRNO] = last_errno;
  return make_int(env, done);
}

/* ---------- module ---------- */

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  static const struct {
    const char *name;
    napi_callback fn;
  } methods[] = {
      {"createSession", create_session}, {"sealRtp", seal_rtp},     {"sealRtpHeader", seal_rtp_header}, {"openRtp", open_rtp}, {"openRtpHeader", open_rtp_header},
      {"sealRtcp", seal_rtcp},           {"openRtcp", open_rtcp},   {"socketInfo", socket_info},
      {"encodeAddress", encode_address}, {"flush", flush},     {"setReceiveBuffer", set_receive_buffer},
      {"receiveAgeUs", receive_age_us},
  };
  for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
    napi_value fn;
    if (napi_create_function(env, methods[i].name, NAPI_AUTO_LENGTH, methods[i].fn, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, methods[i].name, fn) != napi_ok) return NULL;
  }
  napi_value version;
  if (napi_create_int32(env, 1, &version) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "abiVersion", version) != napi_ok) return NULL;
  return exports;
}
