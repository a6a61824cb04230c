//! `coordops lsp`, driven as an editor would: real JSON-RPC messages with
//! Content-Length framing over the spawned binary's stdin and stdout.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

use crate::support::coordops;
use serde_json::{json, Value};

/// Hang guard only: every wait below returns as soon as the message arrives.
const HANG_GUARD: Duration = Duration::from_secs(30);

const URI: &str = "file:///work/%C3%BCn%C3%AF/release.ops";

struct Client {
    child: Child,
    stdin: ChildStdin,
    incoming: Receiver<Value>,
    next_id: i64,
}

impl Client {
    fn start() -> Client {
        let mut child = Command::new(assert_cmd::cargo::cargo_bin("coordops"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn coordops lsp");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, incoming) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(message) = read_message(&mut reader) {
                if tx.send(message).is_err() {
                    break;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            incoming,
            next_id: 0,
        };
        let init = client.request("initialize", json!({"capabilities": {}, "processId": null}));
        let caps = &init["result"]["capabilities"];
        assert_eq!(caps["textDocumentSync"], 1, "{init}");
        assert_eq!(caps["hoverProvider"], true);
        assert_eq!(caps["documentFormattingProvider"], true);
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.stdin.flush().expect("flush");
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// Sends a request and returns its response (notifications in between
    /// are skipped).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.wait(|m| m["id"] == id && m.get("method").is_none())
    }

    fn wait(&mut self, mut wanted: impl FnMut(&Value) -> bool) -> Value {
        loop {
            let message = self
                .incoming
                .recv_timeout(HANG_GUARD)
                .expect("the server answered before the hang guard");
            if wanted(&message) {
                return message;
            }
        }
    }

    /// The next diagnostics published for `URI`.
    fn diagnostics(&mut self) -> Vec<Value> {
        let m = self.wait(|m| m["method"] == "textDocument/publishDiagnostics");
        assert_eq!(m["params"]["uri"], URI);
        m["params"]["diagnostics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn open(&mut self, text: &str) -> Vec<Value> {
        let doc = json!({"uri": URI, "languageId": "ops", "version": 1, "text": text});
        self.notify("textDocument/didOpen", json!({"textDocument": doc}));
        self.diagnostics()
    }

    fn change(&mut self, version: i64, text: &str) -> Vec<Value> {
        let params = json!({
            "textDocument": {"uri": URI, "version": version},
            "contentChanges": [{"text": text}],
        });
        self.notify("textDocument/didChange", params);
        self.diagnostics()
    }

    fn at(&mut self, method: &str, pos: (u32, u32), extra: Value) -> Value {
        let mut params = json!({
            "textDocument": {"uri": URI},
            "position": {"line": pos.0, "character": pos.1},
        });
        if let (Some(p), Some(e)) = (params.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        self.request(method, params)["result"].clone()
    }

    fn shutdown(mut self) {
        let response = self.request("shutdown", Value::Null);
        assert!(response["error"].is_null(), "{response}");
        self.notify("exit", Value::Null);
        let status = crate::support::wait_exit(&mut self.child).expect("exits");
        assert!(status.success(), "{status:?}");
    }
}

fn read_message(reader: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(n) = line.strip_prefix("Content-Length: ") {
            length = n.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    reader.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// Line and UTF-16 column of the `nth` (from 0) occurrence of `needle`.
fn pos(text: &str, needle: &str, nth: usize) -> (u32, u32) {
    let offset = text
        .match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("{needle} #{nth}"))
        .0;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column = before
        .rsplit('\n')
        .next()
        .unwrap_or("")
        .encode_utf16()
        .count();
    (line as u32, column as u32)
}

/// Non-ASCII in comments and strings before every name, so a byte column
/// would be wrong.
const PLAYBOOK: &str = r#"# Ünïcödé 🎉 playbook
coordinator C "Kööрдинатор 🎯" {
  timeout 2m
  retry 2 backoff 1s on [network]
}
lock git "the répo 🔒"
agent RM "Réléase mänager 🚀" {
  task push "Püsh the bränch 🌿" {
    timeout 30s
    outputs { hash: string, branch: string }
  }
}
signal OPS:PUSH "Pùsh requested" {
  branch: string = "main"
}
route push: OPS:PUSH => ship
workflow ship "Ship it 🚢" {
  p = RM.push(branch: signal.branch) lock git
  complete "pushed {p.hash} ✓"
}
"#;

#[test]
fn diagnostics_hover_navigation_completion_and_symbols() {
    let mut client = Client::start();

    // An undefined agent: the code and message of `coordops check`.
    let broken = PLAYBOOK.replace("p = RM.push", "p = RX.push");
    let diags = client.open(&broken);
    let undefined = diags
        .iter()
        .find(|d| d["code"] == "ops::check::undefined_agent")
        .unwrap_or_else(|| panic!("{diags:?}"));
    let (line, col) = pos(&broken, "RX", 0);
    assert_eq!(
        undefined["range"]["start"],
        json!({"line": line, "character": col})
    );
    assert_eq!(
        undefined["range"]["end"],
        json!({"line": line, "character": col + 2})
    );
    assert_eq!(undefined["severity"], 1);
    // Exactly what `coordops check` reports for the same text.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("release.ops");
    std::fs::write(&file, &broken).expect("write");
    let out = Command::new(assert_cmd::cargo::cargo_bin("coordops"))
        .args(["check", "--format", "json"])
        .arg(&file)
        .output()
        .expect("check");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let from_check: Vec<(Value, String)> = report["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let help = d["help"].as_str().map(|h| format!("\nhelp: {h}"));
            let message = format!(
                "{}{}",
                d["message"].as_str().unwrap_or(""),
                help.unwrap_or_default()
            );
            (d["code"].clone(), message)
        })
        .collect();
    let from_lsp: Vec<(Value, String)> = diags
        .iter()
        .map(|d| {
            (
                d["code"].clone(),
                d["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        from_lsp.iter().any(|(_, m)| m.contains("RX")),
        "{from_lsp:?}"
    );
    assert_eq!(from_lsp, from_check);
    // Hovering it shows its `explain` text.
    let hover = client.at("textDocument/hover", (line, col + 1), json!({}));
    let text = hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(text.contains("ops::check::undefined_agent"), "{text}");
    assert!(text.contains(
        coordops::explain::explanation("undefined_agent")
            .unwrap()
            .lines()
            .next()
            .unwrap()
    ));

    // Fixed: the diagnostics are cleared.
    assert_eq!(client.change(2, PLAYBOOK), Vec::<Value>::new());

    // Hover on a step: effective timeout and retry, with their origins.
    let hover = client.at("textDocument/hover", pos(PLAYBOOK, "push(", 0), json!({}));
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(text.contains("Püsh the bränch"), "{text}");
    assert!(text.contains("timeout **30s** (from task)"), "{text}");
    assert!(
        text.contains("`retry 2 backoff 1s on [network]` (from coordinator): waits 1s, 1s"),
        "{text}"
    );
    // The same on the step's binding, with the step's own options.
    let hover = client.at("textDocument/hover", pos(PLAYBOOK, "p = ", 0), json!({}));
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        text.contains("outputs: `hash: string`, `branch: string`"),
        "{text}"
    );
    assert!(
        text.contains("For this step:\n- timeout **30s** (from task)"),
        "{text}"
    );
    // Hover on an agent: its description.
    let hover = client.at("textDocument/hover", pos(PLAYBOOK, "RM.push", 0), json!({}));
    assert!(hover["contents"]["value"]
        .as_str()
        .unwrap_or_default()
        .contains("Réléase mänager"));

    // Hover on `signal.branch`: the field's declaration.
    let hover = client.at("textDocument/hover", pos(PLAYBOOK, "branch)", 0), json!({}));
    let text = hover["contents"]["value"].as_str().unwrap_or_default();
    assert!(
        text.contains("of signal `OPS:PUSH`") && text.contains("branch: string = \"main\""),
        "{text}"
    );

    // Go to definition: agent, task, signal, workflow, lock, binding.
    for (from, to) in [
        (pos(PLAYBOOK, "RM.push", 0), pos(PLAYBOOK, "RM \"", 0)),
        (pos(PLAYBOOK, "push(", 0), pos(PLAYBOOK, "push \"", 0)),
        (
            pos(PLAYBOOK, "OPS:PUSH =>", 0),
            pos(PLAYBOOK, "OPS:PUSH \"", 0),
        ),
        (pos(PLAYBOOK, "ship\n", 0), pos(PLAYBOOK, "ship \"", 0)),
        (
            pos(PLAYBOOK, "git\n  complete", 0),
            pos(PLAYBOOK, "git \"", 0),
        ),
        (pos(PLAYBOOK, "p.hash", 0), pos(PLAYBOOK, "p = ", 0)),
        (
            pos(PLAYBOOK, "branch)", 0),
            pos(PLAYBOOK, "branch: string =", 0),
        ),
    ] {
        let found = client.at("textDocument/definition", from, json!({}));
        assert_eq!(found[0]["uri"], URI, "{from:?}: {found}");
        assert_eq!(
            found[0]["range"]["start"],
            json!({"line": to.0, "character": to.1}),
            "{from:?}"
        );
    }

    // Find references, with and without the declaration.
    let refs = client.at(
        "textDocument/references",
        pos(PLAYBOOK, "git \"", 0),
        json!({"context": {"includeDeclaration": true}}),
    );
    assert_eq!(refs.as_array().map(Vec::len), Some(2), "{refs}");
    let refs = client.at(
        "textDocument/references",
        pos(PLAYBOOK, "RM \"", 0),
        json!({"context": {"includeDeclaration": false}}),
    );
    assert_eq!(
        refs[0]["range"]["start"],
        json!({"line": pos(PLAYBOOK, "RM.push", 0).0, "character": pos(PLAYBOOK, "RM.push", 0).1})
    );

    // Completion while typing (the text does not parse): signal fields,
    // task outputs, an agent's tasks, and names.
    let labels = |result: &Value| -> Vec<String> {
        result
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["label"].as_str().map(String::from))
            .collect()
    };
    for (typed, expected) in [
        ("signal.", "branch"),
        ("p.", "hash"),
        ("RM.", "push"),
        ("gi", "git"),
    ] {
        let text = PLAYBOOK.replace("  complete", &format!("  x = {typed}\n  complete"));
        let diags = client.change(3, &text);
        let cursor = pos(&text, &format!("x = {typed}\n"), 0);
        let cursor = (cursor.0, cursor.1 + 4 + typed.encode_utf16().count() as u32);
        let result = client.at("textDocument/completion", cursor, json!({}));
        assert!(
            labels(&result).contains(&expected.to_string()),
            "{typed}: {result} ({diags:?})"
        );
    }
    // `output.` in a task's check: the task's outputs.
    let text = PLAYBOOK.replace(
        "    timeout 30s\n",
        "    timeout 30s\n    check c \"ok\": output.\n",
    );
    client.change(4, &text);
    let cursor = pos(&text, "output.\n", 0);
    let result = client.at(
        "textDocument/completion",
        (cursor.0, cursor.1 + 7),
        json!({}),
    );
    assert_eq!(labels(&result), ["hash", "branch"], "{result}");
    client.change(5, PLAYBOOK);

    // Document symbols: the outline.
    let symbols = client.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": URI}}),
    )["result"]
        .clone();
    let names = labels(&Value::Array(
        symbols
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|s| json!({"label": s["name"]}))
            .collect(),
    ));
    assert_eq!(
        names,
        ["C", "git", "RM", "OPS:PUSH", "push", "ship"],
        "{symbols}"
    );
    assert_eq!(symbols[2]["children"][0]["name"], "push");

    // Formatting is `coordops fmt`'s: one edit to exactly its output, none
    // when the text is already formatted.
    let messy = PLAYBOOK
        .replace("lock git", "lock    git")
        .replace("  timeout 2m", "timeout 2m");
    client.change(7, &messy);
    let edits = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let fmt = coordops()
        .args(["fmt", "-"])
        .write_stdin(messy.clone())
        .output()
        .expect("coordops fmt runs");
    let formatted = String::from_utf8_lossy(&fmt.stdout).into_owned();
    assert_ne!(formatted, messy);
    assert_eq!(edits["result"][0]["newText"], formatted.as_str(), "{edits}");
    client.change(8, &formatted);
    let none = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": URI}, "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    assert_eq!(none["result"], json!([]), "{none}");

    // Closing clears the document's diagnostics.
    client.notify(
        "textDocument/didClose",
        json!({"textDocument": {"uri": URI}}),
    );
    assert_eq!(client.diagnostics(), Vec::<Value>::new());
    client.shutdown();
}

#[test]
fn bad_requests_get_errors_and_the_server_keeps_serving() {
    let mut client = Client::start();
    let unknown = client.request("textDocument/rename", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let bad = client.request("textDocument/hover", json!({"nonsense": true}));
    assert_eq!(bad["error"]["code"], -32602, "{bad}");
    let closed = client.at("textDocument/hover", (0, 0), json!({}));
    assert!(closed.is_null());
    // Positions past the end, and text that is not a playbook at all.
    client.open("\u{feff}agent 🎉 { task");
    let far = client.at("textDocument/hover", (99, 99), json!({}));
    assert!(far.is_null() || far.is_object(), "{far}");
    let completion = client.at("textDocument/completion", (0, 999), json!({}));
    assert!(completion.is_array(), "{completion}");
    client.shutdown();
}

#[test]
fn a_broken_frame_ends_the_server_with_exit_2() {
    coordops()
        .arg("lsp")
        .write_stdin("Content-Length: 5\r\n\r\nhello")
        .timeout(HANG_GUARD)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("malformed LSP payload"));
}
