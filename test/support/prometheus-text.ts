/** The value of one series in a Prometheus text exposition, matched on all its labels (0 when absent). */
export function seriesValue(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .sort();
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{([^}]*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2]!.split(',').sort();
    if (have.length === wanted.length && have.every((l, i) => l === wanted[i])) return Number(match[3]);
  }
  return 0;
}
