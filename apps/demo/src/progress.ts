/**
 * A small progress bar on stderr. On a terminal it redraws one line; elsewhere (CI, pipes)
 * it prints a line at most every few seconds, so logs stay readable.
 */
export class ProgressBar {
  private readonly tty = Boolean(process.stderr.isTTY);
  private lastPrint = 0;
  private readonly started = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number, info = ''): void {
    const now = Date.now();
    const finished = done >= this.total;
    if (!this.tty && !finished && now - this.lastPrint < 3000) return;
    this.lastPrint = now;
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const width = 24;
    const filled = Math.round(frac * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const secs = ((now - this.started) / 1000).toFixed(1);
    const line = `${this.label.padEnd(22)} ${bar} ${String(Math.round(frac * 100)).padStart(3)}% ${secs}s ${info}`;
    if (this.tty) process.stderr.write(`\r\x1b[2K${line}${finished ? '\n' : ''}`);
    else process.stderr.write(`${line}\n`);
  }
}
