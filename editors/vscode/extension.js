'use strict';
// coordops for VS Code. Highlighting comes from syntaxes/ops.tmLanguage.json;
// everything else from the language server `coordops lsp`, started here over
// stdio: diagnostics as you type, hover, go to definition, references,
// completion, document symbols and formatting (so format-on-save).

const path = require('path');
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** The running client, or null. */
let client = null;

/** The `coordops` executable: the `coordops.path` setting, resolved against the first workspace folder when relative. */
function executable() {
  const configured = String(vscode.workspace.getConfiguration('coordops').get('path') || '').trim() || 'coordops';
  const folders = vscode.workspace.workspaceFolders;
  const isBareCommand = !configured.includes('/') && !configured.includes('\\');
  if (isBareCommand || path.isAbsolute(configured) || !folders || folders.length === 0) return configured;
  return path.join(folders[0].uri.fsPath, configured);
}

/** Starts `coordops lsp`; a failure to start is shown, never thrown. */
async function start() {
  const command = executable();
  const server = { command, args: ['lsp'], transport: TransportKind.stdio };
  client = new LanguageClient(
    'coordops',
    'coordops language server',
    { run: server, debug: server },
    {
      documentSelector: [
        { scheme: 'file', language: 'ops' },
        { scheme: 'untitled', language: 'ops' },
      ],
    },
  );
  try {
    await client.start();
  } catch (e) {
    client = null;
    vscode.window.showErrorMessage(
      `coordops: could not start \`${command} lsp\` (${e && e.message ? e.message : e}). ` +
        'Install coordops (cargo install --path .) or set "coordops.path". Highlighting works without it.',
    );
  }
}

/** Stops the running client, if any. */
async function stop() {
  const running = client;
  client = null;
  if (running) await running.stop();
}

/** Called by VS Code when a .ops file is opened. */
async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('coordops.path')) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

/** Called by VS Code on shutdown. */
function deactivate() {
  return stop();
}

module.exports = { activate, deactivate, executable };
