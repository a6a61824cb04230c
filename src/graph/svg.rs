//! The graph as an inline SVG, laid out by hand: each node goes on the row
//! after the furthest node that leads to it, rows are centred, edges are
//! straight arrows. No script, no external resource.

use std::collections::HashMap;
use std::fmt::Write;

use super::{EdgeKind, Graph, Shape};
use crate::output::escape_xml;

const CHAR_W: u32 = 7;
const LINE_H: u32 = 16;
const PAD: u32 = 10;
const GAP_X: u32 = 24;
const GAP_Y: u32 = 42;
const MAX_CHARS: usize = 44;
/// How far below its source node an edge's label sits.
const LABEL_DROP: u32 = 14;

struct Placed {
    x: u32,
    y: u32,
    w: u32,
    h: u32,
}

/// Renders the graph as a standalone `<svg>` element (every text redacted
/// and escaped); `data-node` on each node names it.
pub fn svg(graph: &Graph) -> String {
    let entries = graph.cluster_entries();
    let nodes: Vec<_> = graph.nodes().collect();
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    let resolve = |id: &str| -> Option<usize> {
        let id = entries.get(id).map_or(id, String::as_str);
        index.get(id).copied()
    };
    let edges: Vec<(usize, usize, &super::Edge)> = graph
        .edges()
        .filter_map(|e| Some((resolve(&e.from)?, resolve(&e.to)?, e)))
        .collect();
    // Rank: one more than the furthest predecessor. Edges only point
    // forward in drawing order; any that does not is left out of ranking.
    let mut rank = vec![0usize; nodes.len()];
    let mut incoming: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (from, to, _) in &edges {
        if from < to {
            incoming[*to].push(*from);
        }
    }
    for i in 0..nodes.len() {
        rank[i] = incoming[i].iter().map(|p| rank[*p] + 1).max().unwrap_or(0);
    }
    let lines: Vec<Vec<String>> = nodes.iter().map(|n| wrap(&n.lines)).collect();
    let size = |i: usize| -> (u32, u32) {
        let chars = lines[i]
            .iter()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(1) as u32;
        let extra = if matches!(nodes[i].shape, Shape::Route | Shape::Decision) {
            4 * PAD
        } else {
            2 * PAD
        };
        (chars * CHAR_W + extra, lines[i].len() as u32 * LINE_H + PAD)
    };
    let rows = rank.iter().max().map_or(0, |r| r + 1);
    let mut row_nodes: Vec<Vec<usize>> = vec![Vec::new(); rows];
    for (i, r) in rank.iter().enumerate() {
        row_nodes[*r].push(i);
    }
    let row_width = |row: &[usize]| -> u32 {
        row.iter().map(|i| size(*i).0).sum::<u32>() + GAP_X * row.len().saturating_sub(1) as u32
    };
    let width = row_nodes.iter().map(|r| row_width(r)).max().unwrap_or(0) + 2 * PAD;
    let mut placed: Vec<Placed> = (0..nodes.len())
        .map(|_| Placed {
            x: 0,
            y: 0,
            w: 0,
            h: 0,
        })
        .collect();
    let mut y = PAD;
    for row in &row_nodes {
        let mut x = (width - row_width(row)) / 2;
        let height = row.iter().map(|i| size(*i).1).max().unwrap_or(0);
        for i in row {
            let (w, h) = size(*i);
            placed[*i] = Placed {
                x,
                y: y + (height - h) / 2,
                w,
                h,
            };
            x += w + GAP_X;
        }
        y += height + GAP_Y;
    }
    let height = y.saturating_sub(GAP_Y) + PAD;
    let mut out = format!(
        "<svg class=\"flow\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"flow graph\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" \
         markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n"
    );
    // Edge labels go on top of the nodes, so a long edge's stays readable.
    let mut labels = String::new();
    let mut placed_labels: Vec<(i64, i64, i64)> = Vec::new();
    // One node's result handed to several later steps: its label once.
    let mut named: Vec<(usize, &str)> = Vec::new();
    for (from, to, e) in &edges {
        let (a, b) = (&placed[*from], &placed[*to]);
        // Handoffs run beside the control flow they often parallel.
        let shift = if e.kind == EdgeKind::Handoff { 8 } else { 0 };
        let (x1, y1) = (a.x + a.w / 2 + shift, a.y + a.h);
        let (x2, y2) = (b.x + b.w / 2 + shift, b.y);
        let class = match e.kind {
            EdgeKind::Flow => "flow-edge",
            EdgeKind::Handoff => "handoff-edge",
            EdgeKind::NoMatch => "nomatch-edge",
        };
        let _ = writeln!(
            out,
            "<line class=\"{class}\" x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" marker-end=\"url(#arrow)\"/>"
        );
        let label = e.label.as_deref().filter(|l| {
            let first = !named.contains(&(*from, *l));
            named.push((*from, l));
            first
        });
        if let Some(label) = label {
            // In the gap just below the source, where no node is.
            let ly = y1 + LABEL_DROP.min(y2.saturating_sub(y1));
            let t = f64::from(ly - y1) / f64::from(y2.saturating_sub(y1).max(1));
            let lx = (f64::from(x1) + (f64::from(x2) - f64::from(x1)) * t) as i64 + 4;
            // Labels leaving one node start at one point: stack them.
            let w = label.chars().count() as i64 * 6;
            let mut ly = i64::from(ly);
            while placed_labels
                .iter()
                .any(|(x, y, lw)| (ly - y).abs() < 11 && lx < x + lw && *x < lx + w)
            {
                ly += 11;
            }
            placed_labels.push((lx, ly, w));
            let _ = writeln!(
                labels,
                "<text class=\"edge-label\" x=\"{lx}\" y=\"{ly}\">{}</text>",
                escape_xml(label)
            );
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        let p = &placed[i];
        let _ = writeln!(
            out,
            "<g class=\"node {}\" data-node=\"{}\">{}",
            class(n.shape),
            escape_xml(&n.id),
            outline(n.shape, p)
        );
        for (k, line) in lines[i].iter().enumerate() {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                p.x + p.w / 2,
                p.y + PAD / 2 + LINE_H * (k as u32 + 1) - 4,
                escape_xml(line)
            );
        }
        out.push_str("</g>\n");
    }
    out.push_str(&labels);
    out.push_str("</svg>\n");
    out
}

fn class(shape: Shape) -> &'static str {
    match shape {
        Shape::Route => "route",
        Shape::Task => "task",
        Shape::Run => "run",
        Shape::Let => "let",
        Shape::Decision => "decision",
        Shape::Fork => "fork",
        Shape::Join => "join",
        Shape::Approve => "approve",
        Shape::End => "end",
    }
}

fn outline(shape: Shape, p: &Placed) -> String {
    let (x, y, w, h) = (p.x, p.y, p.w, p.h);
    match shape {
        Shape::Route | Shape::Decision => {
            let d = if shape == Shape::Route { PAD } else { 2 * PAD };
            format!(
                "<polygon points=\"{},{y} {},{y} {},{} {},{} {},{} {x},{}\"/>",
                x + d,
                x + w - d,
                x + w,
                y + h / 2,
                x + w - d,
                y + h,
                x + d,
                y + h,
                y + h / 2
            )
        }
        Shape::End => format!(
            "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"{}\"/>",
            h / 2
        ),
        _ => format!("<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" rx=\"3\"/>"),
    }
}

/// Lines cut to at most `MAX_CHARS` characters, longer ones wrapped at a space.
fn wrap(lines: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        let mut current = String::new();
        for word in line.split(' ') {
            let len = current.chars().count() + word.chars().count();
            if !current.is_empty() && len >= MAX_CHARS {
                out.push(std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push(current);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn long_lines_wrap_at_spaces() {
        let long = "word ".repeat(20);
        let lines = wrap(&[long.trim().to_string()]);
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.chars().count() <= 48), "{lines:?}");
    }
}
