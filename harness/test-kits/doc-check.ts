import { readFile, stat } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import GithubSlugger from 'github-slugger';
import type { Nodes, Root } from 'mdast';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { toString as textOf } from 'mdast-util-to-string';
import { gfm } from 'micromark-extension-gfm';

/**
 * For tests: checks Markdown pages the way a reader meets them on GitHub. Every relative link
 * must name a file inside the repository, every anchor a heading of its page (GitHub's slugs),
 * and every `hunt ...` line in a shell block must be accepted by the CLI. The parsing is
 * micromark's (CommonMark with GitHub's tables), the slugs github-slugger's: the same rules
 * GitHub renders by, not a regular expression's guess.
 */

export interface DocProblem {
  file: string;
  line: number;
  problem: string;
}

/** Says why a command line is refused, or undefined when the CLI accepts it. */
export type CommandCheck = (argv: string[]) => Promise<string | undefined>;

function parse(markdown: string): Root {
  return fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] });
}

function walk(node: Nodes, visit: (node: Nodes) => void): void {
  visit(node);
  if ('children' in node) for (const child of node.children) walk(child, visit);
}

/** The anchors GitHub gives a page's headings (a repeated heading gets -1, -2, ...). */
export function anchorsOf(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  walk(parse(markdown), (node) => {
    if (node.type === 'heading') anchors.add(slugger.slug(textOf(node)));
  });
  return anchors;
}

/** Every link and image target of a page, with its line. */
export function linksOf(markdown: string): Array<{ url: string; line: number }> {
  const links: Array<{ url: string; line: number }> = [];
  walk(parse(markdown), (node) => {
    if (node.type === 'link' || node.type === 'image' || node.type === 'definition')
      links.push({ url: node.url, line: node.position?.start.line ?? 0 });
  });
  return links;
}

const SHELL_LANGUAGES = new Set(['sh', 'bash', 'shell', 'console']);

/**
 * The `hunt` command lines of a page's shell blocks, as argv after `hunt`: `npx hunt`, a `$ `
 * prompt, `\` continuations and trailing comments understood; the parts of `a && b` each.
 */
export function huntLinesOf(markdown: string): Array<{ argv: string[]; line: number }> {
  const found: Array<{ argv: string[]; line: number }> = [];
  walk(parse(markdown), (node) => {
    if (node.type !== 'code' || !SHELL_LANGUAGES.has(node.lang ?? '')) return;
    const first = node.position?.start.line ?? 0;
    const lines = node.value.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const at = first + 1 + i;
      let text = lines[i] as string;
      while (text.endsWith('\\') && i + 1 < lines.length) text = `${text.slice(0, -1)} ${lines[++i]}`;
      text = text.replace(/^\s*\$\s+/, '').replace(/\s+#.*$/, '');
      for (const part of text.split(/&&|;|\|\|?/)) {
        const words = shellWords(part.trim());
        const start = words[0] === 'npx' ? 1 : 0;
        if (words[start] === 'hunt') found.push({ argv: words.slice(start + 1), line: at });
      }
    }
  });
  return found;
}

/** Splits a line into words as a shell would for plain, single- and double-quoted words. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g))
    words.push(match[1] ?? match[2] ?? (match[3] as string));
  return words;
}

/** Checks pages (paths relative to root): links, anchors and hunt lines. [] when all hold. */
export async function checkDocs(root: string, files: readonly string[], check: CommandCheck) {
  const problems: DocProblem[] = [];
  const anchorCache = new Map<string, Set<string> | undefined>();
  const anchorsIn = async (path: string) => {
    if (!anchorCache.has(path))
      anchorCache.set(path, await readFile(path, 'utf8').then(anchorsOf, () => undefined));
    return anchorCache.get(path);
  };
  for (const file of files) {
    const path = resolve(root, file);
    const markdown = await readFile(path, 'utf8');
    for (const { url, line } of linksOf(markdown)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(url)) continue; // https:, mailto: are not files
      const [target = '', anchor] = url.split('#');
      const targetPath = target === '' ? path : resolve(dirname(path), decodeURIComponent(target));
      const inside = relative(root, targetPath);
      if (inside.startsWith('..') || resolve(root, inside) !== targetPath) {
        problems.push({ file, line, problem: `${url} points outside the repository` });
        continue;
      }
      const there = await stat(targetPath).then(
        () => true,
        () => false,
      );
      if (!there) {
        problems.push({ file, line, problem: `${url}: no file ${inside}` });
        continue;
      }
      if (anchor !== undefined && targetPath.endsWith('.md')) {
        const anchors = await anchorsIn(targetPath);
        if (!anchors?.has(anchor))
          problems.push({ file, line, problem: `${url}: no heading #${anchor} in ${inside}` });
      }
    }
    for (const { argv, line } of huntLinesOf(markdown)) {
      const refused = await check(argv);
      if (refused !== undefined)
        problems.push({ file, line, problem: `hunt ${argv.join(' ')} is refused: ${refused}` });
    }
  }
  return problems;
}
