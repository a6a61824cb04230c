//! Document symbols: the coordinator, agents with their tasks, signals with
//! their fields, locks, routes, workflows and tests.

use lsp_types::{DocumentSymbol, SymbolKind};

use crate::ast::{Ident, Item, Span};

use super::document::Document;

/// The outline of a document that parses (empty otherwise).
pub fn symbols(doc: &Document) -> Vec<DocumentSymbol> {
    let Some(playbook) = &doc.playbook else {
        return Vec::new();
    };
    let symbol = |name: &str,
                  detail: &str,
                  kind,
                  span: Span,
                  selection: Span,
                  children: Vec<DocumentSymbol>| {
        #[allow(deprecated)] // `deprecated` is a required field of the type
        DocumentSymbol {
            name: if name.is_empty() {
                "(unnamed)".into()
            } else {
                name.to_string()
            },
            detail: (!detail.is_empty()).then(|| detail.to_string()),
            kind,
            tags: None,
            deprecated: None,
            range: doc.lines.range(doc.text(), span),
            selection_range: doc.lines.range(doc.text(), selection),
            children: (!children.is_empty()).then_some(children),
        }
    };
    let named = |ident: &Ident, detail: &str, kind, span, children| {
        symbol(&ident.name, detail, kind, span, ident.span, children)
    };
    playbook
        .items
        .iter()
        .filter_map(|it| {
            Some(match it {
                Item::Coordinator(c) => named(
                    &c.name,
                    "coordinator",
                    SymbolKind::NAMESPACE,
                    c.span,
                    Vec::new(),
                ),
                Item::Agent(a) => {
                    let tasks = a
                        .tasks
                        .iter()
                        .map(|t| named(&t.name, "task", SymbolKind::METHOD, t.span, Vec::new()))
                        .collect();
                    named(&a.name, "agent", SymbolKind::CLASS, a.span, tasks)
                }
                Item::Signal(s) => {
                    let fields = s
                        .fields
                        .iter()
                        .map(|f| {
                            named(
                                &f.name,
                                &f.ty.to_string(),
                                SymbolKind::FIELD,
                                f.span,
                                Vec::new(),
                            )
                        })
                        .collect();
                    named(&s.name, "signal", SymbolKind::EVENT, s.span, fields)
                }
                Item::Lock(l) => named(&l.name, "lock", SymbolKind::CONSTANT, l.span, Vec::new()),
                Item::Route(r) => {
                    let pattern = doc.source.slice(r.pattern.span());
                    match &r.label {
                        Some(label) => named(
                            label,
                            &format!("route {pattern}"),
                            SymbolKind::KEY,
                            r.span,
                            Vec::new(),
                        ),
                        None => symbol(
                            pattern,
                            "route",
                            SymbolKind::KEY,
                            r.span,
                            r.pattern.span(),
                            Vec::new(),
                        ),
                    }
                }
                Item::Workflow(w) => named(
                    &w.name,
                    "workflow",
                    SymbolKind::FUNCTION,
                    w.span,
                    Vec::new(),
                ),
                Item::Test(t) => {
                    let name = t
                        .name
                        .as_plain()
                        .unwrap_or_else(|| doc.source.slice(t.name.span).to_string());
                    symbol(
                        &name,
                        "test",
                        SymbolKind::METHOD,
                        t.span,
                        t.name.span,
                        Vec::new(),
                    )
                }
                Item::Rule(_) => return None,
            })
        })
        .collect()
}
