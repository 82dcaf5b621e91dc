/** Summary is what a benchmark reports of repeated runs: noisy machines make the median the figure. */
export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly unit: string;
}

/** Metric is one measured row of the table: a scenario's headline or one of its baselines or parts. */
export interface Metric extends Summary {
  readonly label: string;
  readonly samples: readonly number[];
}

/** Goal is one of the benchmark's goals (bench/README.md) with the figure it is judged on. */
export interface Goal {
  readonly text: string;
  readonly met: boolean;
}

/** ScenarioResult is a scenario's headline metric, its other rows, its goals and its sizes. */
export interface ScenarioResult {
  readonly id: string;
  readonly title: string;
  readonly headline: Metric;
  readonly rows: readonly Metric[];
  readonly goals: readonly Goal[];
  /** extra carries scenario-specific fields for latest.json (scenario 1's ratios, for one). */
  readonly extra: Readonly<Record<string, unknown>>;
  readonly params: Readonly<Record<string, number | string>>;
}

/** median of a list; the mean of the two middle values for an even count. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** percentile by the nearest-rank method, which never invents a value that was not observed. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** metric summarises the samples of one row. */
export function metric(label: string, unit: string, samples: readonly number[]): Metric {
  return { label, unit, samples, median: median(samples), min: Math.min(...samples), max: Math.max(...samples) };
}

/** summary drops the samples and label, for latest.json. */
export function summary(m: Metric): Summary & { samples: readonly number[] } {
  return { median: round(m.median), min: round(m.min), max: round(m.max), unit: m.unit, samples: m.samples.map(round) };
}

/** round keeps three significant decimals for small values and whole numbers for large ones. */
export function round(value: number): number {
  if (!Number.isFinite(value)) return value;
  if (Math.abs(value) >= 100) return Math.round(value);
  return Math.round(value * 1000) / 1000;
}

/** format prints a figure with thousands separators, as the README quotes it. */
export function format(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  const r = round(value);
  return Math.abs(r) >= 100 ? r.toLocaleString('en-US') : String(r);
}

/** table renders the results as the Markdown table the run prints and the README quotes. */
export function table(results: readonly ScenarioResult[]): string {
  const lines = ['| scenario | metric | median | min | max | unit | goal |', '|---|---|---:|---:|---:|---|---|'];
  for (const r of results) {
    const goals = r.goals.map((g) => `${g.met ? 'met' : 'NOT met'}: ${g.text}`).join('; ');
    [r.headline, ...r.rows].forEach((m, i) => {
      lines.push(
        `| ${i === 0 ? r.title : ''} | ${m.label} | ${format(m.median)} | ${format(m.min)} | ${format(m.max)} | ${m.unit} | ${i === 0 ? goals : ''} |`,
      );
    });
  }
  return lines.join('\n');
}
