/** CliIo is where a command writes and what environment it reads, so tests can capture both. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** tty: `out` is a person's terminal, not a pipe or a log collector (secrets may be shown there, once). */
  readonly tty?: boolean;
}

/** processIo is the real terminal and environment. */
export function processIo(): CliIo {
  return {
    out: (line) => void process.stdout.write(`${line}\n`),
    err: (line) => void process.stderr.write(`${line}\n`),
    env: process.env,
    tty: process.stdout.isTTY === true,
  };
}
