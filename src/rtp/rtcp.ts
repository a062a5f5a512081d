/**
 * RTCP (RFC 3550 §6, RFC 4585, RFC 5104, draft-alvestrand-rmcat-remb,
 * draft-holmer-rmcat-transport-wide-cc-extensions-01): compound iteration, parsers and writers.
 * One import point for the rtcp-*.ts files.
 */
export * from './rtcp-common.ts';
export * from './rtcp-feedback.ts';
export * from './rtcp-reports.ts';
export * from './rtcp-twcc.ts';
