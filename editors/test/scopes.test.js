#!/usr/bin/env node
// The scope the grammar gives each kind of token (docs/editors.md, "What the
// grammar scopes"): a playbook line, a token in it, and the expected innermost
// scope. Needs `npm ci` here:  node scopes.test.js
'use strict';

const assert = require('node:assert/strict');
const fs = require('fs');
const path = require('path');
const test = require('node:test');
const vsctm = require('vscode-textmate');
const { loadGrammar } = require('./grammar');

/** [line, token text, n-th occurrence (from 0), expected innermost scope]. */
const CASES = [
  ['# ops:allow(gate_tolerates_no_failure)', 'ops:allow', 0, 'keyword.other.directive.allow.ops'],
  ['# ops:allow(gate_tolerates_no_failure)', 'gate_tolerates_no_failure', 0, 'constant.other.diagnostic-code.ops'],
  ['agent A {   # and one after code', ' and one after code', 0, 'comment.line.number-sign.ops'],
  ['coordinator COORD_OPS "Ops" {', 'coordinator', 0, 'storage.type.coordinator.ops'],
  ['coordinator COORD_OPS "Ops" {', 'COORD_OPS', 0, 'entity.name.type.agent.ops'],
  ['agent RELEASE_MANAGER "Git" {', 'RELEASE_MANAGER', 0, 'entity.name.type.agent.ops'],
  ['  task commit { timeout 30s }', 'commit', 0, 'entity.name.function.task.ops'],
  ['  task commit { timeout 30s }', 'timeout', 0, 'keyword.other.ops'],
  ['  task commit { timeout 30s }', '30s', 0, 'constant.numeric.duration.ops'],
  ['  retry 3 backoff 2s x1.5 max 30s jitter within 2m on [rejected, timeout]', '3', 0, 'constant.numeric.integer.ops'],
  ['  retry 3 backoff 2s x1.5 max 30s jitter within 2m on [rejected, timeout]', 'x1.5', 0, 'constant.numeric.multiplier.ops'],
  ['  retry 3 backoff 2s x1.5 max 30s jitter within 2m on [rejected, timeout]', 'jitter', 0, 'keyword.other.ops'],
  ['  retry 3 backoff 2s x1.5 max 30s jitter within 2m on [rejected, timeout]', '2m', 0, 'constant.numeric.duration.ops'],
  ['  gate 80%', '80%', 0, 'constant.numeric.percent.ops'],
  ['  wait: duration = 1h30m', '1h30m', 0, 'constant.numeric.duration.ops'],
  ['  timeout 30sec', '30sec', 0, 'invalid.illegal.number.ops'],
  ['  timeout 1.5s', '1.5s', 0, 'invalid.illegal.number.ops'],
  ['  retries: int = -1', '-1', 0, 'constant.numeric.integer.ops'],
  ['  retries: int = -1', 'int', 0, 'support.type.ops'],
  ['  files: list<string> = []', 'list', 0, 'support.type.ops'],
  ['  files: list<string> = []', 'string', 0, 'support.type.ops'],
  ['  files: list<string> = []', 'files', 0, 'variable.other.property.ops'],
  ['signal OPS:COMMIT "Code ready"', 'signal', 0, 'storage.type.ops'],
  ['signal OPS:COMMIT "Code ready"', 'OPS', 0, 'constant.other.signal.ops'],
  ['signal OPS:COMMIT "Code ready"', ':', 0, 'punctuation.separator.namespace.ops'],
  ['route OPS:* => escalate Boundary "x"', '*', 0, 'constant.other.signal.ops'],
  ['route * => ignore', '*', 0, 'constant.other.signal.wildcard.ops'],
  ['route * => ignore', 'ignore', 0, 'keyword.control.ops'],
  ['route fast: OPS:COMMIT when signal.simple => commit_pr', 'fast', 0, 'entity.name.label.route.ops'],
  ['route fast: OPS:COMMIT when signal.simple => commit_pr', 'signal', 0, 'variable.language.signal.ops'],
  ['route fast: OPS:COMMIT when signal.simple => commit_pr', 'simple', 0, 'variable.other.member.ops'],
  ['route fast: OPS:COMMIT when signal.simple => commit_pr', '=>', 0, 'keyword.operator.arrow.ops'],
  ['route fast: OPS:COMMIT when signal.simple => commit_pr', 'commit_pr', 0, 'entity.name.function.workflow.ops'],
  ['route OPS:X => escalate Boundary "x"', 'Boundary', 0, 'entity.name.type.escalation.ops'],
  ['lock changelog "CHANGELOG.md"', 'changelog', 0, 'variable.other.lock.ops'],
  ['workflow commit_pr "Commit" timeout 10m {', 'commit_pr', 0, 'entity.name.function.workflow.ops'],
  ['  commit = RELEASE_MANAGER.commit(files: signal.files)', 'commit', 0, 'variable.other.ops'],
  ['  commit = RELEASE_MANAGER.commit(files: signal.files)', '=', 0, 'keyword.operator.assignment.ops'],
  ['  commit = RELEASE_MANAGER.commit(files: signal.files)', 'RELEASE_MANAGER', 0, 'entity.name.type.agent.ops'],
  ['  commit = RELEASE_MANAGER.commit(files: signal.files)', 'commit', 1, 'entity.name.function.task.ops'],
  ['  commit = RELEASE_MANAGER.commit(files: signal.files)', 'files', 0, 'variable.other.property.ops'],
  ['  commit = RELEASE_MANAGER.commit(files: signal.files)', 'files', 1, 'variable.other.member.ops'],
  ['  commit = RELEASE_MANAGER.commit(files: signal.files)', '(', 0, 'punctuation.section.parens.ops'],
  ['  if commit.ok == true and not x in [1, 2] {', 'commit', 0, 'variable.other.object.ops'],
  ['  if commit.ok == true and not x in [1, 2] {', '==', 0, 'keyword.operator.comparison.ops'],
  ['  if commit.ok == true and not x in [1, 2] {', 'true', 0, 'constant.language.boolean.ops'],
  ['  if commit.ok == true and not x in [1, 2] {', 'not', 0, 'keyword.operator.word.ops'],
  ['  if commit.ok == true and not x in [1, 2] {', 'in', 0, 'keyword.operator.word.ops'],
  ['  if commit.ok == true and not x in [1, 2] {', 'if', 0, 'keyword.control.ops'],
  ['    check fmt: output.message ~ /(feat|fix)\\/.+/', 'fmt', 0, 'entity.name.function.check.ops'],
  ['    check fmt: output.message ~ /(feat|fix)\\/.+/', 'output', 0, 'variable.language.output.ops'],
  ['    check fmt: output.message ~ /(feat|fix)\\/.+/', '~', 0, 'keyword.operator.match.ops'],
  ['    check fmt: output.message ~ /(feat|fix)\\/.+/', '(feat|fix)', 0, 'string.regexp.ops'],
  ['    check fmt: output.message ~ /(feat|fix)\\/.+/', '\\/', 0, 'constant.character.escape.ops'],
  ['  x = 1 !~ /a # b/', 'a # b', 0, 'string.regexp.ops'],
  ['  complete "tab:\\t {pr.url} \\{ \\u{e9} \\q" { "pr url": 1 }', '\\t', 0, 'constant.character.escape.ops'],
  ['  complete "tab:\\t {pr.url} \\{ \\u{e9} \\q" { "pr url": 1 }', '\\{', 0, 'constant.character.escape.ops'],
  ['  complete "tab:\\t {pr.url} \\{ \\u{e9} \\q" { "pr url": 1 }', '\\u{e9}', 0, 'constant.character.escape.ops'],
  ['  complete "tab:\\t {pr.url} \\{ \\u{e9} \\q" { "pr url": 1 }', '\\q', 0, 'invalid.illegal.escape.ops'],
  ['  complete "tab:\\t {pr.url} \\{ \\u{e9} \\q" { "pr url": 1 }', '{', 0, 'punctuation.section.interpolation.begin.ops'],
  ['  complete "tab:\\t {pr.url} \\{ \\u{e9} \\q" { "pr url": 1 }', 'url', 0, 'variable.other.member.ops'],
  ['  complete "tab:\\t {pr.url} \\{ \\u{e9} \\q" { "pr url": 1 }', '}', 0, 'punctuation.section.interpolation.end.ops'],
  ['  complete "tab:\\t {pr.url} \\{ \\u{e9} \\q" { "pr url": 1 }', 'pr url', 0, 'string.quoted.double.ops'],
  ['  abort "a {f({ k: "v {x}" })} # not a comment"', 'k', 0, 'variable.other.property.ops'],
  ['  abort "a {f({ k: "v {x}" })} # not a comment"', 'x', 0, 'variable.other.ops'],
  ['  abort "a {f({ k: "v {x}" })} # not a comment"', ' # not a comment', 0, 'string.quoted.double.ops'],
  ['  parallel audit for f in signal.files gate at least 2 stop when decided timeout 1h {', 'audit', 0, 'entity.name.label.group.ops'],
  ['  parallel audit for f in signal.files gate at least 2 stop when decided timeout 1h {', 'f', 0, 'variable.other.loop.ops'],
  ['  parallel audit for f in signal.files gate at least 2 stop when decided timeout 1h {', 'least', 0, 'keyword.other.ops'],
  ['  parallel audit for f in signal.files gate at least 2 stop when decided timeout 1h {', 'decided', 0, 'constant.language.decision.ops'],
  ['  parallel gate tolerate 1 {', 'gate', 0, 'keyword.other.ops'],
  ['  a = X.t() critical lock registry', 'critical', 0, 'keyword.other.ops'],
  ['  a = X.t() critical lock registry', 'registry', 0, 'variable.other.lock.ops'],
  ['  exclusive registry {', 'registry', 0, 'variable.other.lock.ops'],
  ['  sub = run release timeout 1h', 'release', 0, 'entity.name.function.workflow.ops'],
  ['  let y = [1, 2]', 'y', 0, 'variable.other.binding.ops'],
  ['  approve ok "Ship?" timeout 24h on denied => fail "no"', 'ok', 0, 'variable.other.binding.ops'],
  ['  approve ok "Ship?" timeout 24h on denied => fail "no"', 'denied', 0, 'entity.name.event.ops'],
  ['on failure(rejected) when signal.x => A.fetch() then retry', 'failure', 0, 'entity.name.event.ops'],
  ['on failure(rejected) when signal.x => A.fetch() then retry', 'then', 0, 'keyword.control.ops'],
  ['  complete "done" next "Await approval"', 'next', 0, 'keyword.control.ops'],
  ['test "a commit ends with a PR" {', 'test', 0, 'storage.type.ops'],
  ['  given A.commit times out then fails(rejected) "no" after 3s', 'A', 0, 'entity.name.type.agent.ops'],
  ['  given A.commit times out then fails(rejected) "no" after 3s', 'commit', 0, 'entity.name.function.task.ops'],
  ['  given A.commit times out then fails(rejected) "no" after 3s', 'times', 0, 'keyword.other.times-out.ops'],
  ['  given A.commit times out then fails(rejected) "no" after 3s', 'out', 0, 'keyword.other.times-out.ops'],
  ['  given A.commit times out then fails(rejected) "no" after 3s', 'after', 0, 'keyword.other.ops'],
  ['  given step audit.1[name = "x"] succeeds', 'audit', 0, 'variable.other.binding.ops'],
  ['  given step audit.1[name = "x"] succeeds', '1', 0, 'variable.other.member.ops'],
  ['  given approval release_ok granted', 'granted', 0, 'constant.language.decision.ops'],
  ['  expect status complete', 'complete', 0, 'constant.other.expected.ops'],
  ['  expect step commit success', 'success', 0, 'constant.other.expected.ops'],
  ['  expect payload.commit == "abc"', 'payload', 0, 'variable.language.payload.ops'],
  ['  fail "x" { timeout: 1, status: 2 }', 'timeout', 0, 'variable.other.property.ops'],
  ['  fail "x" { timeout: 1, status: 2 }', 'status', 0, 'variable.other.property.ops'],
  ['  x = TOOLSMITH.agent', 'agent', 0, 'variable.other.member.ops'],
  // Forms of `expect` and the `tests` header of *.test.ops files.
  ['tests "release.ops"', 'tests', 0, 'storage.type.tests.ops'],
  ['  expect gate checks#2 passed', 'checks#2', 0, 'entity.name.label.group.ops'],
  ['  expect gate checks#2 passed', 'passed', 0, 'variable.other.ops'],
  ['  expect step ship.2[1] failure(invalid)', 'ship.2[1]', 0, 'variable.other.binding.ops'],
  ['  expect step ship.2[1] failure(invalid)', 'failure', 0, 'constant.other.expected.ops'],
  ['  expect step build attempts at 0s, 15s', 'attempts', 0, 'keyword.other.ops'],
  ['  expect duration <= 15m', 'duration', 0, 'keyword.other.ops'],
];

/** The innermost scope of the `nth` token whose text is `text` in `line`. */
function scopeOf(grammar, line, text, nth) {
  const { tokens } = grammar.tokenizeLine(line, vsctm.INITIAL);
  const matches = tokens.filter((t) => line.slice(t.startIndex, t.endIndex) === text);
  assert.ok(matches.length > nth, `no token ${JSON.stringify(text)} (#${nth}) in ${JSON.stringify(line)}: ` +
    tokens.map((t) => JSON.stringify(line.slice(t.startIndex, t.endIndex))).join(' '));
  return matches[nth].scopes[matches[nth].scopes.length - 1];
}

test('each kind of token gets its scope', async () => {
  const grammar = await loadGrammar();
  const wrong = [];
  for (const [line, text, nth, expected] of CASES) {
    const got = scopeOf(grammar, line, text, nth);
    if (got !== expected) wrong.push(`${JSON.stringify(text)} in ${JSON.stringify(line)}: ${got}, expected ${expected}`);
  }
  assert.deepEqual(wrong, []);
});

test('a string ends on its line, and an open interpolation with it', async () => {
  const grammar = await loadGrammar();
  const first = grammar.tokenizeLine('  abort "unterminated {x', vsctm.INITIAL);
  const second = grammar.tokenizeLine('agent A {', first.ruleStack);
  assert.equal(second.tokens[0].scopes.at(-1), 'storage.type.agent.ops');
  const regex = grammar.tokenizeLine('  check c: x ~ /open', vsctm.INITIAL);
  const after = grammar.tokenizeLine('task t', regex.ruleStack);
  assert.equal(after.tokens[0].scopes.at(-1), 'storage.type.task.ops');
});

/** Keywords that are keywords only in some context. */
const CONTEXT = { times: '  times out', tests: 'tests "release.ops"' };

test('every keyword of grammar/ops.pest is highlighted as one', async () => {
  const grammar = await loadGrammar();
  const pest = fs.readFileSync(path.resolve(__dirname, '..', '..', 'grammar', 'ops.pest'), 'utf8');
  const words = [...pest.matchAll(/^(?:kw|op)_[a-z_]+\s*=\s*[@$]\{\s*"([a-z_]+)"/gm)].map((m) => m[1]);
  assert.ok(words.length > 50, `only ${words.length} keywords found in grammar/ops.pest`);
  const plain = [];
  for (const word of words) {
    // The word where a keyword stands: first on its line, before a name;
    // `times` is one only in `times out`, `tests` only as a file's header.
    const line = CONTEXT[word] || `  ${word} x`;
    const { tokens } = grammar.tokenizeLine(line, vsctm.INITIAL);
    const token = tokens.find((t) => line.slice(t.startIndex, t.endIndex) === word);
    const scope = token ? token.scopes[token.scopes.length - 1] : '(not a token)';
    if (!/^(keyword|storage\.type)\./.test(scope)) plain.push(`${word}: ${scope}`);
  }
  assert.deepEqual(plain, [], 'keywords of grammar/ops.pest that editors/vscode/syntaxes/ops.tmLanguage.json does not know');
});
