//! `coordops lsp`: a language server over stdio (see `docs/lsp.md`).
//!
//! One thread handles one message at a time: a document is re-analysed on
//! every change (full-text sync) with the same entry point as `coordops
//! check`, and requests read the latest analysis. A request that fails (bad
//! parameters, an unknown document) gets an error response; a panic while
//! handling one is caught and answered as an internal error (while handling
//! a notification, noted on stderr), so the server keeps serving.

mod complete;
mod document;
mod format;
mod hover;
pub mod index;
mod lookup;
mod outline;
pub mod position;
mod publish;

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _,
    PublishDiagnostics,
};
use lsp_types::request::{
    Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest, References,
    Request as _,
};
use lsp_types::{
    CompletionOptions, CompletionResponse, DocumentSymbolResponse, GotoDefinitionResponse, Hover,
    HoverContents, HoverProviderCapability, Location, MarkupContent, MarkupKind, OneOf,
    PublishDiagnosticsParams, ServerCapabilities, TextDocumentPositionParams,
    TextDocumentSyncCapability, TextDocumentSyncKind, Uri,
};
use serde::de::DeserializeOwned;
use serde_json::Value;

use document::Document;

/// What the server can do, sent in its `initialize` response.
pub fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into()]),
            ..CompletionOptions::default()
        }),
        document_symbol_provider: Some(OneOf::Left(true)),
        document_formatting_provider: format::AVAILABLE.then_some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

/// Serves LSP on stdin/stdout until the client sends `exit` (or closes
/// stdin). An error when the connection breaks or the protocol is violated.
pub fn serve_stdio() -> Result<(), String> {
    let (connection, threads) = Connection::stdio();
    let served = serve(&connection);
    drop(connection);
    match served {
        // The reader has stopped (on `exit`, at the end of stdin, or on a
        // broken frame): joining tells which, and ends the writer too.
        Ok(()) | Err(Stop::Disconnected(_)) => {
            let joined = threads.join();
            joined.map_err(|e| format!("reading stdin or writing stdout: {e}"))?;
            served.map_err(Stop::into_message)
        }
        // The reader may still wait on stdin: exit without it.
        Err(stop) => Err(stop.into_message()),
    }
}

/// Why serving stopped early.
#[derive(Debug)]
pub enum Stop {
    /// The client's side of the connection went away.
    Disconnected(String),
    /// The client broke the protocol.
    Protocol(String),
}

impl Stop {
    fn into_message(self) -> String {
        match self {
            Stop::Disconnected(m) | Stop::Protocol(m) => m,
        }
    }

    fn from(context: &str, e: &lsp_server::ProtocolError) -> Stop {
        let message = format!("{context}: {e}");
        if e.channel_is_disconnected() {
            Stop::Disconnected(message)
        } else {
            Stop::Protocol(message)
        }
    }
}

/// Initializes `connection` and serves it until `exit` (or until the
/// client's side closes).
pub fn serve(connection: &Connection) -> Result<(), Stop> {
    let capabilities =
        serde_json::to_value(capabilities()).map_err(|e| Stop::Protocol(e.to_string()))?;
    connection
        .initialize(capabilities)
        .map_err(|e| Stop::from("before initialize", &e))?;
    let mut server = Server {
        connection,
        documents: HashMap::new(),
    };
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                let shutdown = connection.handle_shutdown(&request);
                if shutdown.map_err(|e| Stop::from("after shutdown", &e))? {
                    return Ok(());
                }
                let response = server.respond(request);
                server.send(response.into());
            }
            Message::Notification(n) if n.method == "exit" => return Ok(()),
            Message::Notification(n) => {
                let method = n.method.clone();
                if catch_unwind(AssertUnwindSafe(|| server.notified(n))).is_err() {
                    crate::output::stderr(&format!(
                        "coordops lsp failed while handling `{method}` (a bug: please report it)\n"
                    ));
                }
            }
            Message::Response(_) => {}
        }
    }
    Ok(())
}

struct Server<'c> {
    connection: &'c Connection,
    /// Open documents by URI.
    documents: HashMap<String, Document>,
}

/// A request's failure: its JSON-RPC error code and message.
type Failure = (ErrorCode, String);

impl Server<'_> {
    fn send(&self, message: Message) {
        // The client is gone when this fails: the loop ends on the next read.
        let _ = self.connection.sender.send(message);
    }

    fn respond(&mut self, request: Request) -> Response {
        let id = request.id.clone();
        let method = request.method.clone();
        match catch_unwind(AssertUnwindSafe(|| self.handle(request))) {
            Ok(Ok(value)) => Response::new_ok(id, value),
            Ok(Err((code, message))) => Response::new_err(id, code as i32, message),
            Err(_) => Response::new_err(
                id,
                ErrorCode::InternalError as i32,
                format!("coordops lsp failed while handling `{method}` (a bug: please report it)"),
            ),
        }
    }

    fn handle(&mut self, request: Request) -> Result<Value, Failure> {
        let p = &request.params;
        let value = match request.method.as_str() {
            HoverRequest::METHOD => {
                let (doc, offset) = self.at(params::<TextDocumentPositionParams>(p)?)?;
                json(hover::hover(doc, offset).map(|text| Hover {
                    contents: HoverContents::Markup(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value: crate::output::redact(&text),
                    }),
                    range: None,
                }))
            }
            GotoDefinition::METHOD => {
                let at = params::<TextDocumentPositionParams>(p)?;
                let uri = at.text_document.uri.clone();
                let (doc, offset) = self.at(at)?;
                let found: Vec<Location> = doc
                    .index
                    .all_at(offset)
                    .into_iter()
                    .flat_map(|o| doc.index.definitions(o.kind, &o.key))
                    .map(|d| Location::new(uri.clone(), doc.lines.range(doc.text(), d.span)))
                    .collect();
                json((!found.is_empty()).then_some(GotoDefinitionResponse::Array(found)))
            }
            References::METHOD => {
                let params = params::<lsp_types::ReferenceParams>(p)?;
                let with_declaration = params.context.include_declaration;
                let uri = params.text_document_position.text_document.uri.clone();
                let (doc, offset) = self.at(params.text_document_position)?;
                let mut found: Vec<(usize, Location)> = Vec::new();
                for o in doc.index.all_at(offset) {
                    for r in doc.index.same(o.kind, &o.key) {
                        let known = found.iter().any(|(start, _)| *start == r.span.start);
                        if (with_declaration || !r.definition) && !known {
                            let range = doc.lines.range(doc.text(), r.span);
                            found.push((r.span.start, Location::new(uri.clone(), range)));
                        }
                    }
                }
                found.sort_by_key(|(start, _)| *start);
                let found: Vec<Location> = found.into_iter().map(|(_, l)| l).collect();
                json((!found.is_empty()).then_some(found))
            }
            Completion::METHOD => {
                let params = params::<lsp_types::CompletionParams>(p)?;
                let (doc, offset) = self.at(params.text_document_position)?;
                json(CompletionResponse::Array(complete::complete(doc, offset)))
            }
            DocumentSymbolRequest::METHOD => {
                let params = params::<lsp_types::DocumentSymbolParams>(p)?;
                let doc = self.document(&params.text_document.uri)?;
                json(DocumentSymbolResponse::Nested(outline::symbols(doc)))
            }
            Formatting::METHOD => {
                let params = params::<lsp_types::DocumentFormattingParams>(p)?;
                let doc = self.document(&params.text_document.uri)?;
                json(format::format(doc))
            }
            other => {
                return Err((
                    ErrorCode::MethodNotFound,
                    format!("coordops lsp does not handle `{other}`"),
                ))
            }
        };
        Ok(value)
    }

    fn document(&self, uri: &Uri) -> Result<&Document, Failure> {
        self.documents.get(uri.as_str()).ok_or_else(|| {
            (
                ErrorCode::InvalidParams,
                format!(
                    "`{}` is not open (send textDocument/didOpen first)",
                    uri.as_str()
                ),
            )
        })
    }

    /// The document and byte offset of a position.
    fn at(&self, at: TextDocumentPositionParams) -> Result<(&Document, usize), Failure> {
        let doc = self.document(&at.text_document.uri)?;
        Ok((doc, doc.lines.offset(doc.text(), at.position)))
    }

    fn notified(&mut self, n: Notification) {
        let uri = match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let Some(p) = notification_params::<lsp_types::DidOpenTextDocumentParams>(&n)
                else {
                    return;
                };
                let uri = p.text_document.uri;
                let doc = Document::new(uri.as_str(), p.text_document.text, None);
                self.documents.insert(uri.as_str().to_string(), doc);
                uri
            }
            DidChangeTextDocument::METHOD => {
                let Some(p) = notification_params::<lsp_types::DidChangeTextDocumentParams>(&n)
                else {
                    return;
                };
                // Full sync: the last change holds the whole text.
                let Some(change) = p.content_changes.into_iter().next_back() else {
                    return;
                };
                let uri = p.text_document.uri;
                let previous = self.documents.remove(uri.as_str());
                let doc = Document::new(uri.as_str(), change.text, previous);
                self.documents.insert(uri.as_str().to_string(), doc);
                uri
            }
            DidCloseTextDocument::METHOD => {
                let Some(p) = notification_params::<lsp_types::DidCloseTextDocumentParams>(&n)
                else {
                    return;
                };
                self.documents.remove(p.text_document.uri.as_str());
                self.publish(p.text_document.uri, Vec::new());
                return;
            }
            _ => return,
        };
        let diagnostics = self
            .documents
            .get(uri.as_str())
            .map(|doc| publish::diagnostics(&uri, doc))
            .unwrap_or_default();
        self.publish(uri, diagnostics);
    }

    fn publish(&self, uri: Uri, diagnostics: Vec<lsp_types::Diagnostic>) {
        let params = PublishDiagnosticsParams::new(uri, diagnostics, None);
        self.send(Notification::new(PublishDiagnostics::METHOD.into(), params).into());
    }
}

fn params<P: DeserializeOwned>(value: &Value) -> Result<P, Failure> {
    serde_json::from_value(value.clone())
        .map_err(|e| (ErrorCode::InvalidParams, format!("invalid parameters: {e}")))
}

/// A notification's parameters; a note on stderr (which editors show in the
/// server's log) when they are invalid, as a notification has no reply.
fn notification_params<P: DeserializeOwned>(n: &Notification) -> Option<P> {
    match params(&n.params) {
        Ok(p) => Some(p),
        Err((_, problem)) => {
            crate::output::stderr(&format!(
                "coordops lsp: ignored `{}`: {problem}\n",
                n.method
            ));
            None
        }
    }
}

fn json(value: impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every request at every position of every playbook and fixture in the
    /// repository answers without panicking, and every range it returns is
    /// inside the text.
    #[test]
    fn every_position_of_every_repository_playbook_is_safe() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let paths = [root.join("playbooks"), root.join("tests/fixtures")];
        let (files, _) = crate::source::collect_playbooks(&paths);
        assert!(files.len() > 50, "{}", files.len());
        for path in files {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue; // non-UTF-8 fixtures
            };
            let doc = Document::new("file:///t.ops", text, None);
            let end = doc.lines.position(doc.text(), doc.text().len());
            let inside = |r: lsp_types::Range| r.start <= r.end && r.end <= end;
            let uri: Uri = "file:///t.ops".parse().expect("uri");
            assert!(publish::diagnostics(&uri, &doc)
                .iter()
                .all(|d| inside(d.range)));
            let mut symbols = outline::symbols(&doc);
            while let Some(s) = symbols.pop() {
                assert!(inside(s.range) && inside(s.selection_range), "{path:?}");
                symbols.extend(s.children.unwrap_or_default());
            }
            let mut offset = 0;
            while offset <= doc.text().len() {
                if let Some(o) = doc.index.at(offset) {
                    assert!(doc.index.same(o.kind, &o.key).count() >= 1);
                    let _ = hover::hover(&doc, offset);
                } else if offset % 3 == 0 {
                    let _ = hover::hover(&doc, offset);
                }
                let after_dot = offset > 0 && doc.text().as_bytes()[offset - 1] == b'.';
                if after_dot || offset % 17 == 0 {
                    let _ = complete::complete(&doc, offset);
                }
                offset += 1;
            }
            assert!(format::format(&doc).iter().all(|e| inside(e.range)));
        }
    }
}
