/** The zod types of environment variables that several areas of the configuration share. */
import { z } from 'zod';

export const port = z.coerce.number({ error: 'expected a port number (1-65535)' }).int().min(1).max(65535);
export const positiveInt = z.coerce.number({ error: 'expected a positive whole number' }).int().positive();
/** Seconds, fractions allowed (tests use short timeouts). */
export const seconds = (max: number) =>
  z.coerce
    .number({ error: `expected seconds (0.1-${max})` })
    .min(0.1)
    .max(max);
export const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
/** The non-empty, trimmed items of a comma-separated variable (empty when unset). */
export const commaList = () =>
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((u) => u.trim())
        .filter((u) => u !== ''),
    );
/** A comma-separated list of URLs with one of these schemes (ICE server URLs, RFC 7064 / RFC 7065). */
export const urlList = (schemes: string[]) =>
  commaList().refine((urls) => urls.every((u) => schemes.some((scheme) => u.startsWith(`${scheme}:`))), {
    message: `expected a comma-separated list of ${schemes.join(':/')}: URLs`,
  });
export const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));
