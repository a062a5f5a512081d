/**
 * H264 Annex B byte stream (ffmpeg's `-f h264` output) → access units (ITU-T H.264 §7.4.1.2.3: an
 * AU starts at an access unit delimiter, an SPS/PPS/SEI after a slice, or a slice whose
 * first_mb_in_slice is 0 after a slice). An AU is complete when the next one starts (or at `flush()`).
 */

export const NAL_SLICE = 1;
export const NAL_IDR = 5;
export const NAL_SEI = 6;
export const NAL_SPS = 7;
export const NAL_PPS = 8;
export const NAL_AUD = 9;

export function nalType(nal: Buffer): number {
  return (nal[0] ?? 0) & 0x1f;
}

function isVcl(type: number): boolean {
  return type >= 1 && type <= 5;
}

function startsAccessUnit(nal: Buffer, auHasSlice: boolean): boolean {
  const type = nalType(nal);
  if (type === NAL_AUD) return true;
  if (!auHasSlice) return false;
  if (type === NAL_SEI || type === NAL_SPS || type === NAL_PPS || (type >= 14 && type <= 18)) return true;
  // first_mb_in_slice is ue(v) right after the NAL header: 0 is coded as a single 1 bit.
  return isVcl(type) && ((nal[1] ?? 0) & 0x80) !== 0;
}

/** Length of the start code at `at` (3 or 4), or 0. */
function startCodeAt(data: Buffer, at: number): number {
  if (data[at] !== 0 || data[at + 1] !== 0) return 0;
  if (data[at + 2] === 1) return 3;
  return data[at + 2] === 0 && data[at + 3] === 1 ? 4 : 0;
}

function withoutTrailingZeros(nal: Buffer): Buffer {
  let end = nal.length;
  while (end > 0 && nal[end - 1] === 0) end--;
  return nal.subarray(0, end);
}

export class AccessUnitSplitter {
  private pending: Buffer = Buffer.alloc(0);
  /** Where the NAL being collected starts in `pending` (after its start code); -1 before the first. */
  private nalStart = -1;
  private scanFrom = 0;
  private au: Buffer[] = [];
  private auHasSlice = false;
  private readonly onAccessUnit: (nals: Buffer[]) => void;

  constructor(onAccessUnit: (nals: Buffer[]) => void) {
    this.onAccessUnit = onAccessUnit;
  }

  push(chunk: Buffer): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const data = this.pending;
    let i = this.scanFrom;
    for (; i + 3 <= data.length; i++) {
      const length = startCodeAt(data, i);
      if (length === 0) continue;
      if (this.nalStart >= 0) this.addNal(Buffer.from(data.subarray(this.nalStart, i)));
      this.nalStart = i + length;
      i += length - 1;
    }
    // Keep the unfinished NAL (and a possibly split start code) for the next chunk.
    const keepFrom = this.nalStart >= 0 ? Math.min(this.nalStart, i) : i;
    this.pending = data.subarray(keepFrom);
    this.nalStart = this.nalStart >= 0 ? this.nalStart - keepFrom : -1;
    this.scanFrom = i - keepFrom;
  }

  /** End of stream: the last NAL and AU are complete. */
  flush(): void {
    if (this.nalStart >= 0 && this.nalStart < this.pending.length) {
      this.addNal(Buffer.from(this.pending.subarray(this.nalStart)));
    }
    this.pending = Buffer.alloc(0);
    this.nalStart = -1;
    this.scanFrom = 0;
    this.emit();
  }

  private addNal(raw: Buffer): void {
    const nal = withoutTrailingZeros(raw);
    if (nal.length === 0) return;
    if (startsAccessUnit(nal, this.auHasSlice)) this.emit();
    this.au.push(nal);
    if (isVcl(nalType(nal))) this.auHasSlice = true;
  }

  private emit(): void {
    const au = this.au;
    const complete = this.auHasSlice;
    this.au = [];
    this.auHasSlice = false;
    if (complete) this.onAccessUnit(au);
  }
}

/** NAL units → AVCC (each prefixed with its 4-byte big-endian length). */
export function toAvcc(nals: Buffer[]): Buffer {
  const total = nals.reduce((sum, nal) => sum + 4 + nal.length, 0);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const nal of nals) {
    out.writeUInt32BE(nal.length, at);
    nal.copy(out, at + 4);
    at += 4 + nal.length;
  }
  return out;
}

/** NAL units → Annex B (4-byte start codes), e.g. to hand AVCC frames back to ffmpeg. */
export function toAnnexB(nals: Buffer[]): Buffer {
  const startCode = Buffer.from([0, 0, 0, 1]);
  return Buffer.concat(nals.flatMap((nal) => [startCode, nal]));
}
