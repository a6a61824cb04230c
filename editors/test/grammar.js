// Loads editors/vscode/syntaxes/ops.tmLanguage.json into vscode-textmate with
// the oniguruma regex engine (WebAssembly), as VS Code does.
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

/** The grammar file under test. */
const GRAMMAR = path.resolve(__dirname, '..', 'vscode', 'syntaxes', 'ops.tmLanguage.json');

/** The `source.ops` grammar, ready for tokenizeLine. */
async function loadGrammar() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.ops') return null;
      return vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, 'utf8'), GRAMMAR);
    },
  });
  const grammar = await registry.loadGrammar('source.ops');
  if (!grammar) throw new Error(`cannot load ${GRAMMAR}`);
  return grammar;
}

module.exports = { GRAMMAR, loadGrammar };
