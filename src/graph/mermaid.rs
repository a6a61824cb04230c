//! The graph as a Mermaid `flowchart`.

use std::fmt::Write;

use super::{EdgeKind, Graph, Item, Shape};

/// Renders the graph as a Mermaid `flowchart TD`.
pub fn mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart TD\n");
    for item in &graph.items {
        match item {
            Item::Open { id, title } => {
                let _ = writeln!(
                    out,
                    "  subgraph {id}[{}]",
                    label(std::slice::from_ref(title))
                );
            }
            Item::Close => out.push_str("  end\n"),
            Item::Node(n) => {
                let (open, close) = brackets(n.shape);
                let _ = writeln!(out, "  {}{open}{}{close}", n.id, label(&n.lines));
            }
            Item::Edge(e) => {
                let arrow = match (e.kind, &e.label) {
                    (EdgeKind::NoMatch, _) => "-. no match .->".to_string(),
                    (EdgeKind::Flow, None) => "-->".to_string(),
                    (EdgeKind::Flow, Some(l)) => format!("-->|{}|", label(std::slice::from_ref(l))),
                    (EdgeKind::Handoff, None) => "-.->".to_string(),
                    (EdgeKind::Handoff, Some(l)) => {
                        format!("-.->|{}|", label(std::slice::from_ref(l)))
                    }
                };
                let _ = writeln!(out, "  {} {arrow} {}", e.from, e.to);
            }
        }
    }
    out
}

fn brackets(shape: Shape) -> (&'static str, &'static str) {
    match shape {
        Shape::Route => ("{{", "}}"),
        Shape::Task => ("[", "]"),
        Shape::Run => ("[[", "]]"),
        Shape::Let => ("[/", "/]"),
        Shape::Decision => ("{", "}"),
        Shape::Fork => ("[/", "\\]"),
        Shape::Join => ("[\\", "/]"),
        Shape::Approve => (">", "]"),
        Shape::End => ("([", "])"),
    }
}

/// Quotes text lines for Mermaid: the characters Mermaid or its HTML
/// labels would read (`"`, `#`, `<`, `>`, `&`) as entity codes, lines
/// joined by `<br/>`.
fn label(lines: &[String]) -> String {
    let escaped: Vec<String> = lines.iter().map(|l| escape(l)).collect();
    format!("\"{}\"", escaped.join("<br/>"))
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn quotes_and_markup_become_entities() {
        assert_eq!(escape(r#"say "hi""#), "say #quot;hi#quot;");
        assert_eq!(escape("a <b> & #1"), "a #lt;b#gt; #amp; #35;1");
        assert_eq!(escape("two\nlines"), "two lines");
    }
}
