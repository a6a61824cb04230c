#!/usr/bin/env node
// Tokenises .ops playbooks with a real TextMate engine (vscode-textmate +
// vscode-oniguruma, as VS Code does) and the grammar in
// ../vscode/syntaxes/ops.tmLanguage.json, and fails on unscoped text: every
// token that is not blank must carry a scope beyond `source.ops`.
//
//   node tokenize.js            every .ops file and every ```ops block of a
//                               Markdown file in the repository
//   node tokenize.js FILE…      only these files (a playbook each, or a .md
//                               file for its ```ops blocks)
//
// Files meant to be wrong (under a directory named `invalid` or `fuzz`) and
// Markdown blocks, which often show errors, may leave characters the language
// does not use (`;`, `'`, `@`, control characters…) unscoped; every other
// unscoped token is an error there too. Problems are printed as
// FILE:LINE:COL; the exit status is 1 if there is any, 2 on a usage error.
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const { loadGrammar } = require('./grammar');

const ROOT = path.resolve(__dirname, '..', '..');
const SKIP_DIRS = new Set(['.git', 'target', 'node_modules']);
/** A line longer than this is not tokenised (the engine's own limit is far higher). */
const MAX_LINE = 100000;

/** Characters the language uses outside strings, comments and regexes (src/syntax/errors.rs). */
function isLanguageChar(c) {
  return /[A-Za-z0-9\s]/.test(c) || '_{}[]()<>=!~:,."#/*%-'.includes(c);
}

function walk(dir, out) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) walk(path.join(dir, entry.name), out);
    } else if (entry.isFile() && /\.(ops|md)$/.test(entry.name)) {
      out.push(path.join(dir, entry.name));
    }
  }
  return out;
}

/** The pieces of source to tokenise in `file`: [{ lines, firstLine, lenient }]. */
function sources(file) {
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.split(/\r?\n/);
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  if (!file.endsWith('.md')) {
    const rel = path.relative(ROOT, file).split(path.sep);
    const lenient = rel.includes('invalid') || rel.includes('fuzz');
    return [{ lines, firstLine: 1, lenient }];
  }
  const blocks = [];
  let block = null;
  lines.forEach((line, i) => {
    if (block === null) {
      const open = /^(\s*)(`{3,}|~{3,})\s*ops\s*$/.exec(line);
      if (open) block = { fence: open[2], lines: [], firstLine: i + 2, lenient: true };
    } else if (line.trim().startsWith(block.fence) && line.trim() === block.fence[0].repeat(line.trim().length)) {
      blocks.push(block);
      block = null;
    } else {
      block.lines.push(line);
    }
  });
  return blocks;
}

/** Problems in one piece of source, as "FILE:LINE:COL: message". */
function check(grammar, shown, src) {
  const problems = [];
  let state = vsctm.INITIAL;
  src.lines.forEach((line, i) => {
    // Columns count characters (code points) from 1, as coordops's diagnostics do.
    const where = (index) => `${shown}:${src.firstLine + i}:${[...line.slice(0, index)].length + 1}`;
    if (line.length > MAX_LINE) {
      problems.push(`${where(0)}: line longer than ${MAX_LINE} characters, not tokenised`);
      return;
    }
    const result = grammar.tokenizeLine(line, state);
    if (result.stoppedEarly) problems.push(`${where(0)}: the tokenizer stopped early`);
    for (const token of result.tokens) {
      const text = line.slice(token.startIndex, token.endIndex);
      if (text.trim() === '' || token.scopes.length > 1) continue;
      if (src.lenient && [...text.trim()].every((c) => !isLanguageChar(c))) continue;
      const lead = text.length - text.trimStart().length;
      problems.push(`${where(token.startIndex + lead)}: unscoped text ${JSON.stringify(text.trim())}`);
    }
    state = result.ruleStack;
  });
  return problems;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.some((a) => a.startsWith('-'))) {
    console.error('usage: node tokenize.js [FILE…]');
    process.exit(2);
  }
  const files = args.length ? args.map((a) => path.resolve(a)) : walk(ROOT, []).sort();
  const grammar = await loadGrammar();
  let pieces = 0;
  let lines = 0;
  const problems = [];
  for (const file of files) {
    const shown = path.relative(process.cwd(), file) || file;
    for (const src of sources(file)) {
      pieces += 1;
      lines += src.lines.length;
      problems.push(...check(grammar, shown, src));
    }
  }
  for (const p of problems) console.log(p);
  console.log(
    `tokenised ${pieces} playbook${pieces === 1 ? '' : 's'} (${lines} lines) from ${files.length} file${files.length === 1 ? '' : 's'}: ` +
      (problems.length ? `${problems.length} problem${problems.length === 1 ? '' : 's'}` : 'every token scoped'),
  );
  process.exit(problems.length ? 1 : 0);
}

main().catch((e) => {
  console.error(`error: ${e.message}`);
  process.exit(2);
});
