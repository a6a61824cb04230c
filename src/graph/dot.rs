//! The graph in Graphviz DOT (`dot -Tsvg flow.dot > flow.svg`).

use std::fmt::Write;

use super::{EdgeKind, Graph, Item, Shape};

/// Renders the graph as a DOT `digraph`; clusters are `subgraph cluster_…`
/// and an edge to a workflow lands on its first node (`lhead`). Edges come
/// after every node, so each node is declared in its own cluster first.
pub fn dot(graph: &Graph) -> String {
    let entries = graph.cluster_entries();
    let mut out = String::from(
        "digraph flow {\n  compound=true;\n  rankdir=TB;\n  \
         node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    let mut depth = 1;
    let mut edges = String::new();
    for item in &graph.items {
        let pad = "  ".repeat(depth);
        match item {
            Item::Open { id, title } => {
                let _ = writeln!(out, "{pad}subgraph {} {{", cluster(id));
                let _ = writeln!(out, "{pad}  label={};", quote(title));
                let _ = writeln!(out, "{pad}  style=rounded; color=\"#888888\";");
                if !entries.contains_key(id) {
                    // An empty cluster still needs a node for edges to land on.
                    let _ = writeln!(out, "{pad}  {id}_entry [shape=point];");
                }
                depth += 1;
            }
            Item::Close => {
                depth = depth.saturating_sub(1).max(1);
                let _ = writeln!(out, "{}}}", "  ".repeat(depth));
            }
            Item::Node(n) => {
                let _ = writeln!(
                    out,
                    "{pad}{} [label={}, {}];",
                    n.id,
                    quote(&n.lines.join("\n")),
                    attributes(n.shape)
                );
            }
            Item::Edge(e) => {
                let mut attrs: Vec<String> = Vec::new();
                let to = match entries.get(&e.to) {
                    Some(first) => {
                        attrs.push(format!("lhead={}", cluster(&e.to)));
                        first.clone()
                    }
                    None if e.to.starts_with("wf_") => {
                        attrs.push(format!("lhead={}", cluster(&e.to)));
                        format!("{}_entry", e.to)
                    }
                    None => e.to.clone(),
                };
                if let Some(l) = &e.label {
                    attrs.push(format!("label={}", quote(l)));
                }
                match e.kind {
                    EdgeKind::Flow => {}
                    EdgeKind::Handoff => attrs.push("style=dashed, color=\"#5b7bb5\"".into()),
                    EdgeKind::NoMatch => attrs.push("style=dotted".into()),
                }
                let attrs = if attrs.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", attrs.join(", "))
                };
                let _ = writeln!(edges, "  {} -> {to}{attrs};", e.from);
            }
        }
    }
    out.push_str(&edges);
    out.push_str("}\n");
    out
}

fn cluster(id: &str) -> String {
    format!("cluster_{id}")
}

fn attributes(shape: Shape) -> &'static str {
    match shape {
        Shape::Route => "shape=hexagon",
        Shape::Task => "shape=box",
        Shape::Run => "shape=box, peripheries=2",
        Shape::Let => "shape=parallelogram",
        Shape::Decision => "shape=diamond",
        Shape::Fork => "shape=trapezium",
        Shape::Join => "shape=invtrapezium",
        Shape::Approve => "shape=cds",
        Shape::End => "shape=box, style=rounded",
    }
}

/// A DOT double-quoted string: `"` and `\` escaped, each line centred.
fn quote(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quotes_backslashes_and_lines_are_escaped() {
        assert_eq!(quote(r#"say "hi" \o/"#), r#""say \"hi\" \\o/""#);
        assert_eq!(quote("a\nb"), r#""a\nb""#);
    }
}
