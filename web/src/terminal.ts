// The xterm.js terminal of the IDE, themed from the page's CSS variables.
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { onThemeChange } from './ui';

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

function theme() {
  const dark = cssVar('color-scheme') === 'dark';
  return {
    background: cssVar('--term-bg'),
    foreground: cssVar('--fg'),
    cursor: cssVar('--accent'),
    cursorAccent: cssVar('--term-bg'),
    selectionBackground: cssVar('--selection'),
    black: dark ? '#3b4252' : '#1d2433',
    red: cssVar('--danger'),
    green: cssVar('--ok'),
    yellow: cssVar('--warn'),
    blue: dark ? '#82aaff' : '#1d4ed8',
    magenta: dark ? '#c4a7ff' : '#7c3aed',
    cyan: dark ? '#67d4e6' : '#0e7490',
    white: dark ? '#e3e7ef' : '#6b7385',
    brightBlack: cssVar('--muted'),
  };
}

export class IdeTerminal {
  readonly term: Terminal;
  private fit = new FitAddon();
  private ro: ResizeObserver;
  private unTheme: () => void;

  constructor(
    readonly host: HTMLElement,
    onResize: (cols: number, rows: number) => void,
  ) {
    this.term = new Terminal({
      fontFamily: cssVar('--mono') || 'monospace',
      fontSize: 13,
      lineHeight: 1.2,
      cursorBlink: true,
      convertEol: false,
      scrollback: 5000,
      theme: theme(),
      allowProposedApi: false,
    });
    this.term.loadAddon(this.fit);
    this.term.open(host);
    this.term.textarea?.setAttribute('aria-label', 'Terminal: program output and input');
    this.unTheme = onThemeChange(() => (this.term.options.theme = theme()));
    let last = '';
    this.ro = new ResizeObserver(() => {
      if (!host.offsetWidth || !host.offsetHeight) return;
      try {
        this.fit.fit();
      } catch {
        return;
      }
      const key = `${this.term.cols}x${this.term.rows}`;
      if (key !== last) {
        last = key;
        onResize(this.term.cols, this.term.rows);
      }
    });
    this.ro.observe(host);
  }

  write(s: string): void {
    this.term.write(s);
  }

  // Writes text from a non-tty source (compiler output, notices).
  writeLines(s: string, color?: 'red' | 'dim' | 'green' | 'yellow'): void {
    const codes = { red: '31', dim: '2', green: '32', yellow: '33' };
    const body = s.replace(/\r?\n/g, '\r\n');
    this.term.write(color ? `\x1b[${codes[color]}m${body}\x1b[0m` : body);
  }

  dispose(): void {
    this.ro.disconnect();
    this.unTheme();
    this.term.dispose();
  }
}
