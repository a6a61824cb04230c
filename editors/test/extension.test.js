#!/usr/bin/env node
// Tests the VS Code extension in ../vscode without VS Code: its manifest and
// language configuration, and extension.js driven with stand-ins for the
// `vscode` and `vscode-languageclient/node` modules (which only VS Code and
// `npm install` in editors/vscode provide). Needs nothing but node:
//   node extension.test.js
'use strict';

const assert = require('node:assert/strict');
const fs = require('fs');
const Module = require('module');
const path = require('path');
const test = require('node:test');

const EXT = path.resolve(__dirname, '..', 'vscode');
const manifest = JSON.parse(fs.readFileSync(path.join(EXT, 'package.json'), 'utf8'));

// ───────────── stand-ins for the modules VS Code provides ─────────────

const world = {
  settings: {},
  folders: undefined,
  errors: [],
  clients: [],
  configListeners: [],
  failStart: null,
};

class FakeClient {
  constructor(id, name, serverOptions, clientOptions) {
    Object.assign(this, { id, name, serverOptions, clientOptions, started: false, stopped: false });
    world.clients.push(this);
  }
  async start() {
    if (world.failStart) throw world.failStart;
    this.started = true;
  }
  async stop() {
    this.stopped = true;
  }
}

const fakeVscode = {
  workspace: {
    getConfiguration: (section) => ({ get: (key) => world.settings[`${section}.${key}`] }),
    get workspaceFolders() {
      return world.folders;
    },
    onDidChangeConfiguration: (listener) => {
      world.configListeners.push(listener);
      return { dispose() {} };
    },
  },
  window: {
    showErrorMessage: (message) => {
      world.errors.push(message);
    },
  },
};
const fakeClientModule = { LanguageClient: FakeClient, TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 } };

const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === 'vscode') return fakeVscode;
  if (request === 'vscode-languageclient/node') return fakeClientModule;
  return load.call(this, request, ...rest);
};
const extension = require(path.join(EXT, manifest.main));

function reset(settings = {}, folders = undefined) {
  Object.assign(world, { settings, folders, errors: [], clients: [], configListeners: [], failStart: null });
}

async function activate() {
  const context = { subscriptions: [] };
  await extension.activate(context);
  return context;
}

// ───────────────────────────── the manifest ─────────────────────────────

test('the manifest contributes the ops language, its grammar and the coordops.path setting', () => {
  const [language] = manifest.contributes.languages;
  assert.equal(language.id, 'ops');
  assert.deepEqual(language.extensions, ['.ops']);
  assert.ok(fs.existsSync(path.join(EXT, language.configuration)));
  const [grammar] = manifest.contributes.grammars;
  assert.equal(grammar.language, 'ops');
  assert.equal(grammar.scopeName, 'source.ops');
  const tm = JSON.parse(fs.readFileSync(path.join(EXT, grammar.path), 'utf8'));
  assert.equal(tm.scopeName, 'source.ops');
  assert.equal(manifest.contributes.configuration.properties['coordops.path'].default, 'coordops');
  // Format on save through the server, on by default for .ops files (as the
  // Go extension does for Go), with this extension as their formatter.
  const ops = manifest.contributes.configurationDefaults['[ops]'];
  assert.equal(ops['editor.formatOnSave'], true);
  assert.equal(ops['editor.defaultFormatter'], `${manifest.publisher}.${manifest.name}`);
  assert.ok(manifest.activationEvents.includes('onLanguage:ops'));
  assert.ok(manifest.dependencies['vscode-languageclient']);
  assert.ok(fs.existsSync(path.join(EXT, manifest.main)));
});

test('the language configuration: # comments, brackets, words, indentation', () => {
  const conf = JSON.parse(fs.readFileSync(path.join(EXT, 'language-configuration.json'), 'utf8'));
  assert.equal(conf.comments.lineComment, '#');
  assert.deepEqual(conf.brackets, [['{', '}'], ['[', ']'], ['(', ')']]);
  const word = new RegExp(`^(?:${conf.wordPattern})$`);
  for (const w of ['OPS:COMMIT', 'OPS:*', 'RELEASE_MANAGER', 'commit_pr', '1h30m', '80%', '-1']) {
    assert.match(w, word, w);
  }
  const increase = new RegExp(conf.indentationRules.increaseIndentPattern);
  const decrease = new RegExp(conf.indentationRules.decreaseIndentPattern);
  for (const opens of ['agent A {', 'agent A "x {y}" {   # a comment', '  b = X.t(', '  let x = [']) {
    assert.match(opens, increase, opens);
  }
  for (const closed of ['  task t { timeout 30s }', '  complete "done {x}"', '# a comment {', '  a = X.t()']) {
    assert.doesNotMatch(closed, increase, closed);
  }
  assert.match('  }', decrease);
  assert.match(')', decrease);
  assert.doesNotMatch('  a = X.t()', decrease);
});

// ───────────────────────────── extension.js ─────────────────────────────

test('activation starts `coordops lsp` over stdio for ops documents', async () => {
  reset();
  const context = await activate();
  assert.equal(world.clients.length, 1);
  const client = world.clients[0];
  assert.equal(client.id, 'coordops');
  assert.deepEqual(client.serverOptions.run, { command: 'coordops', args: ['lsp'], transport: 0 });
  assert.deepEqual(client.serverOptions.debug, client.serverOptions.run);
  assert.ok(client.clientOptions.documentSelector.some((s) => s.language === 'ops' && s.scheme === 'file'));
  assert.ok(client.started);
  assert.equal(context.subscriptions.length, 1);
  assert.deepEqual(world.errors, []);
  await extension.deactivate();
  assert.ok(client.stopped);
});

test('coordops.path: a command, an absolute path, or a path relative to the workspace', () => {
  const ws = [{ uri: { fsPath: path.join(path.sep, 'ws') } }];
  reset({}, ws);
  assert.equal(extension.executable(), 'coordops');
  reset({ 'coordops.path': '  ' }, ws);
  assert.equal(extension.executable(), 'coordops');
  reset({ 'coordops.path': 'coordops-dev' }, ws);
  assert.equal(extension.executable(), 'coordops-dev');
  reset({ 'coordops.path': '/opt/coordops/bin/coordops' }, ws);
  assert.equal(extension.executable(), '/opt/coordops/bin/coordops');
  reset({ 'coordops.path': 'target/debug/coordops' }, ws);
  assert.equal(extension.executable(), path.join(path.sep, 'ws', 'target', 'debug', 'coordops'));
  reset({ 'coordops.path': 'target/debug/coordops' });
  assert.equal(extension.executable(), 'target/debug/coordops');
});

test('changing coordops.path restarts the server with the new executable', async () => {
  reset();
  await activate();
  world.settings['coordops.path'] = '/usr/local/bin/coordops';
  for (const listener of world.configListeners) {
    await listener({ affectsConfiguration: (key) => key === 'coordops.path' });
  }
  assert.equal(world.clients.length, 2);
  assert.ok(world.clients[0].stopped);
  assert.equal(world.clients[1].serverOptions.run.command, '/usr/local/bin/coordops');
  assert.ok(world.clients[1].started);
  for (const listener of world.configListeners) {
    await listener({ affectsConfiguration: (key) => key === 'editor.tabSize' });
  }
  assert.equal(world.clients.length, 2, 'another setting does not restart the server');
  await extension.deactivate();
});

test('a server that cannot start is reported, not thrown', async () => {
  reset({ 'coordops.path': '/nowhere/coordops' });
  world.failStart = new Error('spawn /nowhere/coordops ENOENT');
  await activate();
  assert.equal(world.errors.length, 1);
  assert.match(world.errors[0], /could not start `\/nowhere\/coordops lsp` \(spawn \/nowhere\/coordops ENOENT\)/);
  assert.match(world.errors[0], /coordops\.path/);
  await extension.deactivate();
});

test('extension.js finds what it uses in the real vscode-languageclient (after npm ci in editors/vscode)', (t) => {
  const installed = fs.existsSync(path.join(EXT, 'node_modules', 'vscode-languageclient'));
  if (!installed) {
    assert.notEqual(process.env.COORDOPS_REQUIRE_NODE, '1', 'COORDOPS_REQUIRE_NODE=1 but editors/vscode has no node_modules');
    t.skip('run `npm ci` in editors/vscode');
    return;
  }
  // The real module needs `vscode` only for the API objects it touches later.
  const real = Module._load;
  Module._load = function (request, ...rest) {
    if (request === 'vscode') return new Proxy({}, { get: () => class {} });
    return load.call(this, request, ...rest);
  };
  try {
    const clientModule = require(require.resolve('vscode-languageclient/node', { paths: [EXT] }));
    assert.equal(typeof clientModule.LanguageClient, 'function');
    assert.equal(clientModule.TransportKind.stdio, fakeClientModule.TransportKind.stdio);
    assert.equal(typeof clientModule.LanguageClient.prototype.start, 'function');
    assert.equal(typeof clientModule.LanguageClient.prototype.stop, 'function');
  } finally {
    Module._load = real;
  }
});
