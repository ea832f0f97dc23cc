import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import t from 'tap';
import ts from 'typescript';
import { projectRoot } from './paths.ts';

// Imports cannot see strings: the arrow check (dependency-cruiser) proves the machinery imports no
// system, this proves it does not speak one. Each system's words, counted in code and strings
// (comments may tell history), in every machinery file: all of harness/ but the systems' rooms,
// the two files that name the systems, tests, test kits, benchmarks and fuzzers.
const SYSTEM_WORDS = /master|icinga|stunnel|5665|reload|swarm|endpoint/gi;
const NOT_MACHINERY =
  /\.test\.ts$|^harness\/(systems|test-kits|integration|bench|fuzz)\/|^harness\/(index\.ts|cli\/systems\.ts)$/;

// What the machinery may still say, per file and word. It was a ratchet while the words moved into
// the systems' rooms (issue 27: 119 words in 23 files, then none); it stays, empty, so a word that
// comes back has to be argued for here. Put it in the system's room and hand it over the seam.
const ALLOWED: Record<string, Record<string, number>> = {};

async function machineryFiles(): Promise<string[]> {
  const entries = await readdir(join(projectRoot, 'harness'), { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => relative(projectRoot, join(entry.parentPath, entry.name)))
    .filter((file) => !NOT_MACHINERY.test(file))
    .sort();
}

/** Each system word in the file's tokens (identifiers, strings, templates), comments skipped. */
export function countSystemWords(text: string): Record<string, number> {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text);
  const counts: Record<string, number> = {};
  // Braces open inside each `${...}` of the templates we are in: the scanner alone cannot tell a
  // template's `}` from a block's, and without the rescan the rest of the file reads as a string.
  const templates: number[] = [];
  for (let kind = scanner.scan(); kind !== ts.SyntaxKind.EndOfFileToken; kind = scanner.scan()) {
    if (kind === ts.SyntaxKind.TemplateHead) templates.push(0);
    else if (kind === ts.SyntaxKind.OpenBraceToken && templates.length > 0)
      templates[templates.length - 1] = (templates.at(-1) as number) + 1;
    else if (kind === ts.SyntaxKind.CloseBraceToken && templates.length > 0) {
      if (templates.at(-1) === 0) {
        if (scanner.reScanTemplateToken(false) === ts.SyntaxKind.TemplateTail) templates.pop();
      } else templates[templates.length - 1] = (templates.at(-1) as number) - 1;
    }
    for (const match of scanner.getTokenText().matchAll(SYSTEM_WORDS)) {
      const word = match[0].toLowerCase();
      counts[word] = (counts[word] ?? 0) + 1;
    }
  }
  return counts;
}

t.test('a template with expressions ends where it ends: the comments after it are skipped', async (t) => {
  t.same(
    countSystemWords(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: TypeScript source with templates in it
      "const a = `${x} master ${ { y: 1 }.y } of ${`${'icinga'}`}`;\n// reload after it\nconst b = { swarm: 1 };",
    ),
    { master: 1, icinga: 1, swarm: 1 },
  );
});

t.test('the counter reads code and strings, not comments', async (t) => {
  t.same(
    countSystemWords("// the Icinga master\nconst reloads = 'stunnel';\n/* swarm */ const x = `port 5665`;"),
    {
      reload: 1,
      stunnel: 1,
      '5665': 1,
    },
  );
});

t.test("no machinery file speaks a system's words beyond what the ratchet allows", async (t) => {
  const found: Record<string, Record<string, number>> = {};
  for (const file of await machineryFiles()) {
    const counts = countSystemWords(await readFile(join(projectRoot, file), 'utf8'));
    if (Object.keys(counts).length > 0) found[file] = counts;
  }
  for (const file of new Set([...Object.keys(found), ...Object.keys(ALLOWED)])) {
    const words = new Set([...Object.keys(found[file] ?? {}), ...Object.keys(ALLOWED[file] ?? {})]);
    for (const word of words) {
      const has = found[file]?.[word] ?? 0;
      const allowed = ALLOWED[file]?.[word] ?? 0;
      if (has > allowed)
        t.fail(
          `${file} says "${word}" ${has} times (allowed ${allowed}): a system's word in the machinery. ` +
            'Move what knows the system into its room (harness/systems/<name>/) and pass it over the seam.',
        );
      else if (has < allowed)
        t.fail(
          `${file} says "${word}" ${has} times now, fewer than the ${allowed} allowed: lower ALLOWED to ${has}.`,
        );
    }
  }
  t.pass(`${Object.keys(found).length} machinery files checked against the ratchet`);
});
